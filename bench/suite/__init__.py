"""Kite benchmark suite (issue 6): Kite side by side with Milvus, Milvus Lite and raw kernels.

Entry point: `bash bench/run.sh [--quick|--full|--tiny] [--targets ...]` (see bench/README.md).
"""

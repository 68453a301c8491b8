"""The `stop` filter's built-in lists besides `_english_` (issue 19): Milvus 2.6 expands
`_danish_`, `_dutch_`, `_finnish_`, `_french_`, `_german_`, `_hungarian_`, `_italian_`,
`_norwegian_`, `_portuguese_`, `_russian_`, `_spanish_` and `_swedish_` to the Snowball project's
stop word lists, and `_chinese_` to a Chinese list (Kite: stopwords-iso's, not Milvus's own words);
any other `_name_` stays a literal word. Checked through run_analyzer and a
TEXT_MATCH filter, with each language's everyday function words (articles, conjunctions, "is").
"""
from __future__ import annotations

import pytest
from pymilvus import DataType, MilvusClient

from e2e_util import unique


def analyzer(*stop_words):
    return {"tokenizer": "standard", "filter": ["lowercase", {"type": "stop", "stop_words": list(stop_words)}]}


@pytest.mark.parametrize("lists,text,kept", [
    (["_german_"], "Der Hund und die Katze sind nicht hier", ["hund", "katze"]),
    (["_french_"], "Le chat et la souris sont dans la maison", ["chat", "souris", "maison"]),
    (["_spanish_"], "El perro y el gato de la casa", ["perro", "gato", "casa"]),
    (["_italian_"], "Il cane e il gatto della casa", ["cane", "gatto", "casa"]),
    (["_dutch_"], "De hond en de kat van het huis", ["hond", "kat", "huis"]),
    (["_portuguese_"], "O cão e o gato da casa", ["cão", "gato", "casa"]),
    (["_swedish_"], "Hunden och katten är i huset", ["hunden", "katten", "huset"]),
    (["_danish_"], "Hunden og katten er i huset", ["hunden", "katten", "huset"]),
    (["_norwegian_"], "Hunden og katten er i huset", ["hunden", "katten", "huset"]),
    (["_finnish_"], "Koira ja kissa ovat talossa", ["koira", "kissa", "talossa"]),
    (["_russian_"], "Собака и кошка не в доме", ["собака", "кошка", "доме"]),
    (["_hungarian_"], "A kutya és a macska nem a házban", ["kutya", "macska", "házban"]),
    # Chinese (the icu tokenizer segments it into words): 我们 / 在 / 的 are in the list
    (["_chinese_"], "我们在图书馆看了很多书的", None),
    # lists combine with each other, with _english_ and with literal words
    (["_german_", "_english_", "katze"], "the Hund and der Katze", ["hund"]),
    # a name Milvus has no list for is a literal word, not an error
    (["_klingon_", "und"], "Hund und Katze", ["hund", "katze"]),
])
def test_builtin_stop_word_lists(client, lists, text, kept):
    if kept is None:
        # Kite's "_chinese_" is the stopwords-iso Chinese list (the stopwordsiso package the
        # build embeds): the tokens without the list, less the list's words.
        import stopwordsiso
        zh = stopwordsiso.stopwords("zh")
        params = {"tokenizer": "icu", "filter": [{"type": "stop", "stop_words": lists}]}
        plain = list(client.run_analyzer(text, analyzer_params={"tokenizer": "icu"}).tokens)
        got = list(client.run_analyzer(text, analyzer_params=params).tokens)
        assert {"我们", "在", "的"} <= set(plain) & zh, plain
        assert got == [t for t in plain if t not in zh] and "图书" in got, (plain, got)
        return
    res = client.run_analyzer(text, analyzer_params=analyzer(*lists))
    assert list(res.tokens) == kept


def test_german_stop_words_in_a_text_match_field(client):
    s = MilvusClient.create_schema()
    s.add_field("id", DataType.INT64, is_primary=True)
    s.add_field("text", DataType.VARCHAR, max_length=256, enable_analyzer=True, enable_match=True,
                analyzer_params=analyzer("_german_"))
    s.add_field("v", DataType.FLOAT_VECTOR, dim=2)
    name = unique("stopde")
    ip = client.prepare_index_params()
    ip.add_index("v", index_type="FLAT", metric_type="L2")
    client.create_collection(name, schema=s, index_params=ip)
    rows = [{"id": 1, "text": "Der Hund schläft", "v": [0, 1]},
            {"id": 2, "text": "Die Katze und der Hund", "v": [1, 0]},
            {"id": 3, "text": "Ein Vogel", "v": [1, 1]}]
    client.insert(name, rows)
    # "der" / "und" / "ein" are not indexed: matching them finds nothing
    for word in ("der", "und", "ein"):
        got = client.query(name, filter=f"TEXT_MATCH(text, '{word}')", output_fields=["id"],
                           consistency_level="Strong")
        assert got == [], word
    got = client.query(name, filter="TEXT_MATCH(text, 'hund')", output_fields=["id"], consistency_level="Strong")
    assert sorted(g["id"] for g in got) == [1, 2]

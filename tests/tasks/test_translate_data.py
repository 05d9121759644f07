"""translate data: num2words pairs, unseen-source splits, the user's pair files (good and malformed), words."""

from __future__ import annotations

import pytest

from rnnkit.tasks.translate.data import Pairs, draw_numbers, number_pairs, read_pairs, split_by_key
from rnnkit.tasks.translate.tokenizer import END, UNK, Vocabulary, detokenize, tokenize
from rnnkit.training.errors import ConfigError, DataError


def write(tmp_path, text: str, name: str = "pairs.tsv", encoding: str = "utf-8"):
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def test_number_pairs_follow_french_grammar():
    pairs = number_pairs([21, 80, 81, 200, 201], "en", "fr")
    assert pairs.targets == ["vingt et un", "quatre-vingts", "quatre-vingt-un", "deux cents", "deux cent un"]
    assert pairs.sources[0] == "twenty-one" and pairs.keys == ["21", "80", "81", "200", "201"]


def test_unknown_language_is_a_config_error():
    with pytest.raises(ConfigError, match="num2words has no language 'xx'"):
        number_pairs([1], "en", "xx")


def test_drawn_numbers_are_distinct_and_fixed():
    a, b = draw_numbers(500, 9999), draw_numbers(500, 9999)
    assert len(set(a.tolist())) == 500 and a.tolist() == b.tolist()


def test_split_never_puts_a_source_in_two_splits():
    pairs = Pairs([f"s{i % 30}" for i in range(90)], [f"t{i}" for i in range(90)], [f"s{i % 30}" for i in range(90)],
                  "test")
    train, valid, test = split_by_key(pairs, 0.1, 0.2)
    groups = [set(p.sources) for p in (train, valid, test)]
    assert groups[0].isdisjoint(groups[1]) and groups[0].isdisjoint(groups[2]) and groups[1].isdisjoint(groups[2])
    assert (len(groups[1]), len(groups[2])) == (3, 6) and len(train) + len(valid) + len(test) == 90


def test_good_tsv_reads_pairs_verbatim(tmp_path):
    path = write(tmp_path, 'source\ttarget\tnote\nGo.\tVa !\tx\nHe said "hi".\tIl a dit  "salut".\ty\n')
    pairs = read_pairs(path)
    assert pairs.sources == ["Go.", 'He said "hi".'] and pairs.targets == ["Va !", 'Il a dit "salut".']


def test_good_csv_with_quoted_commas(tmp_path):
    path = write(tmp_path, 'source,target\n"one thousand, two",mille deux\n', name="pairs.csv")
    assert read_pairs(path).sources == ["one thousand, two"]


@pytest.mark.parametrize("content, message", [
    ("src\ttarget\nGo.\tVa !\n", "line 1: missing column(s) source"),
    ("source\ttarget\nGo.\tVa !\nRun!\t \n", "line 3: empty target text"),
    ("source\ttarget\n\tVa !\n", "line 2: empty source text"),
    ("source\ttarget\nGo.\n", "line 2: expected 2 tab-separated fields"),
    ("source\ttarget\n", "no data rows"),
    ("source,target\nGo.,Va !\n", "line 1: the header is one field holding ',': the file looks comma-separated"),
])
def test_malformed_pairs_are_refused_with_file_and_line(tmp_path, content, message):
    path = write(tmp_path, content)
    with pytest.raises(DataError) as e:
        read_pairs(path)
    assert str(path) in str(e.value) and message in str(e.value)


def test_wrong_encoding_is_refused_with_the_line(tmp_path):
    path = write(tmp_path, "source\ttarget\nGo.\tVa !\ncoffee\tcaf\u00e9\n", encoding="latin-1")
    with pytest.raises(DataError, match=r"pairs.tsv, line 3: not valid UTF-8"):
        read_pairs(path)


@pytest.mark.parametrize("text", ["quatre-vingt-dix mille, un", "ninety-nine thousand, nine hundred",
                                  "l'homme qui rit !", "Él dijo: ¿qué?"])
def test_detokenize_inverts_tokenize(text):
    assert detokenize(tokenize(text)) == text
    assert detokenize(tokenize(text, "char")) == text


def test_char_tokens_let_compound_number_words_share_their_parts():
    assert tokenize("vier tausend", "char") == ["\u2581v", "i", "e", "r", "\u2581t", "a", "u", "s", "e", "n", "d"]
    vocab = Vocabulary.build(["viertausend", "dreihundert"], unit="char")
    ids = vocab.encode("dreitausend", end=True)                # unseen as a word, every character known
    assert UNK not in ids and vocab.decode(ids) == "dreitausend"
    with pytest.raises(ValueError, match="unit must be one of"):
        tokenize("x", "subword")


def test_hyphens_and_commas_are_tokens_of_their_own():
    assert tokenize("quatre-vingts mille, un") == ["\u2581quatre", "-", "vingts", "\u2581mille", ",", "\u2581un"]


def test_vocabulary_round_trip_and_unknown_words():
    vocab = Vocabulary.build(["quatre-vingt-dix mille", "deux cent un"])
    ids = vocab.encode("deux cent quatre-vingt-dix", end=True)
    assert ids[-1] == END and vocab.decode(ids) == "deux cent quatre-vingt-dix"
    assert vocab.encode("trois cent")[0] == UNK and vocab.unknown("trois cent") == ["\u2581trois"]


def test_language_flags_with_a_data_file_are_refused():
    from rnnkit.tasks.translate.config import TranslateConfig

    with pytest.raises(ConfigError, match=r"--source-lang and --target-lang choose the languages of the default"):
        TranslateConfig(data="pairs.tsv", target_lang="de").validate()


def test_a_config_for_another_data_file_drops_the_default_datas_languages():
    from rnnkit.tasks.translate.config import TranslateConfig

    cfg = TranslateConfig(source_lang="de", target_lang="en")     # a model of the default data, de -> en
    other = cfg.for_data("pairs.tsv")                              # evaluate --data pairs.tsv
    assert other.data.endswith("pairs.tsv") and (other.source_lang, other.target_lang) == ("en", "fr")

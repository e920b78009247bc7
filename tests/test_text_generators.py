"""The free-text generators (issue 17): ``word_markov`` (n-gram chains that visibly collapse when
refitted on their own output) and ``openai_chat`` (an LLM behind an OpenAI-compatible endpoint),
on real text: paragraphs of Python's help topics. The chat generator talks to a real HTTP server
on 127.0.0.1 (:mod:`chat_server`), through the real ``openai`` client."""

from __future__ import annotations

import json
import logging
import sys

import pandas as pd
import pytest
from chat_server import FakeChatServer
from text_data import help_paragraphs

from synth_pipeline.errors import GeneratedDataError, GeneratorSpecError, MissingExtraError
from synth_pipeline.generators import Generator
from synth_pipeline.generators.markov import WordMarkovGenerator
from synth_pipeline.generators.registry import BUILTIN_GENERATORS, known_methods, resolve_generator
from synth_pipeline.generators.words import detokenize, tokenize

LABEL = "topic"


@pytest.fixture(scope="module")
def paragraphs() -> pd.DataFrame:
    return help_paragraphs()


def _bigrams(texts) -> set[tuple[str, str]]:
    return {pair for text in texts for tokens in [tokenize(text)] for pair in zip(tokens, tokens[1:], strict=False)}


def _vocabulary(texts) -> set[str]:
    return {token for text in texts for token in tokenize(text)}


def _fitted(paragraphs: pd.DataFrame, params: dict | None = None, **resolve) -> WordMarkovGenerator:
    generator = resolve_generator("word_markov", params or {}, **resolve)
    generator.fit(paragraphs, label_column=LABEL, seed=0)
    return generator


# --- word_markov ----------------------------------------------------------------------------------------------------

def test_both_text_generators_are_built_in_methods():
    assert known_methods()[-2:] == ["word_markov", "openai_chat"]
    assert BUILTIN_GENERATORS["word_markov"].extra is None and BUILTIN_GENERATORS["openai_chat"].extra == "llm"


def test_word_markov_samples_text_class_by_class_and_bootstraps_the_other_columns(paragraphs):
    generator = _fitted(paragraphs)
    assert isinstance(generator, Generator)
    rows = generator.sample(90, seed=7)
    assert list(rows.columns) == list(paragraphs.columns) and rows.dtypes.equals(paragraphs.dtypes)
    assert len(rows) == 90 and set(rows[LABEL]) == set(paragraphs[LABEL])
    for topic, made in rows.groupby(LABEL):
        # Class-conditional: every word pair of a class's texts was seen in that class's real texts.
        assert _bigrams(made["text"]) <= _bigrams(paragraphs.loc[paragraphs[LABEL] == topic, "text"])
    fitted_subrows = set(paragraphs[["words", "kind", LABEL]].itertuples(index=False))
    assert set(rows[["words", "kind", LABEL]].itertuples(index=False)) <= fitted_subrows
    assert rows["text"].str.len().gt(0).mean() > 0.9
    info = generator.info()
    assert info.name == "text.word_markov" and info.params == {
        "order": 2, "max_words": None, "max_overlap": 0.7, "max_overlap_words": 15, "tries": 10}
    assert info.extra["text_columns"] == ["text"] and info.extra["vocabulary_size"] == len(
        _vocabulary(paragraphs["text"]))
    assert set(info.extra["states_per_class"]) == set(paragraphs[LABEL]) and info.privacy is None


def test_word_markov_is_deterministic_for_a_seed(paragraphs):
    generator = _fitted(paragraphs)
    pd.testing.assert_frame_equal(generator.sample(20, seed=3), generator.sample(20, seed=3))
    assert not generator.sample(20, seed=3).equals(generator.sample(20, seed=4))
    assert generator.sample(0, seed=3).dtypes.equals(paragraphs.dtypes)


def test_punctuation_is_kept_as_tokens_and_joined_back_like_text():
    text = 'A list (or tuple), e.g. "x" is fine: [1, 2]; os.path isn\'t.'
    assert tokenize(text)[:6] == ["A", "list", "(", "or", "tuple", ")"]
    assert detokenize(tokenize(text)) == text


def test_max_words_cuts_the_sampled_texts(paragraphs):
    rows = _fitted(paragraphs, {"max_words": 5, "order": 1}).sample(40, seed=1)
    assert rows["text"].map(lambda text: len(tokenize(text))).max() <= 5


def test_word_markov_collapses_when_refitted_on_its_own_output(paragraphs):
    """Generation 0 is real; each next generation is fitted on the previous one's sample only (replace mode)."""
    frame, figures = paragraphs, []
    for generation in range(5):
        figures.append((len(_vocabulary(frame["text"])), len(_bigrams(frame["text"]))))
        if generation < 4:
            generator = resolve_generator("word_markov", {})
            generator.fit(frame, label_column=LABEL, seed=generation)
            frame = generator.sample(len(paragraphs), seed=generation)
    print("vocabulary, distinct bigrams per generation:", figures)
    vocabulary, bigrams = zip(*figures, strict=True)
    assert all(a > b for a, b in zip(vocabulary, vocabulary[1:], strict=False)), figures
    assert all(a > b for a, b in zip(bigrams, bigrams[1:], strict=False)), figures
    assert bigrams[-1] < 0.6 * bigrams[0]


def test_text_columns_are_detected_or_taken_from_the_pipeline(paragraphs):
    frame = paragraphs.assign(opening=paragraphs["text"].map(lambda text: " ".join(text.split()[:3])))
    assert _fitted(frame).info().extra["text_columns"] == ["text"]  # 3 words is a category, not text
    declared = _fitted(frame, text_columns=("opening", "text"))
    assert declared.info().extra["text_columns"] == ["text", "opening"]
    rows = declared.sample(30, seed=2)
    assert not set(rows["opening"]) <= set(frame["opening"])  # made by a chain, not resampled


def test_a_regression_label_is_drawn_with_the_other_columns(paragraphs):
    generator = resolve_generator("word_markov", {}, label_is_class=False)
    generator.fit(paragraphs, label_column="words", seed=0)
    assert list(generator.info().extra["states_per_class"]) == ["all"]
    rows = generator.sample(25, seed=1)
    assert set(rows[["words", LABEL]].itertuples(index=False)) <= set(
        paragraphs[["words", LABEL]].itertuples(index=False))


def _without_import_text(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.assign(text=frame["text"].where(frame[LABEL] != "import"))


@pytest.mark.parametrize(("params", "change", "resolve", "expected"), [
    pytest.param({"order": 0}, None, {}, "synthesizer.params.order of word_markov must be an integer from 1 to 10 "
                 "(got 0): fix it in the spec", id="order-below-1"),
    pytest.param({"order": 2.5}, None, {}, "synthesizer.params.order of word_markov must be an integer",
                 id="order-float"),
    pytest.param({"max_words": "long"}, None, {}, "synthesizer.params.max_words of word_markov must be an integer",
                 id="max-words"),
    pytest.param({"ordr": 2}, None, {}, "synthesizer.params ['ordr'] are not parameters of word_markov; it takes "
                 "['order', 'max_words', 'max_overlap', 'max_overlap_words', 'tries']", id="unknown-param"),
    pytest.param({}, lambda f: f.drop(columns="text"), {}, "word_markov (synthesizer.method) found no text column in "
                 "the fit input", id="no-text-column"),
    pytest.param({}, _without_import_text, {"text_columns": ("text",)}, "the rows of class 'import' (topic) hold no "
                 "text in column 'text'", id="class-without-text"),
    pytest.param({}, None, {"text_columns": ("body",)}, "the text columns ['body'] named for it are not columns of the "
                 "fit input", id="unknown-text-column"),
    pytest.param({}, None, {"text_columns": ("words",)}, "the text columns ['words'] do not hold strings",
                 id="numeric-text-column"),
])
def test_word_markov_refuses_what_it_cannot_model_naming_the_fix(paragraphs, params, change, resolve, expected):
    with pytest.raises(GeneratorSpecError) as raised:
        generator = resolve_generator("word_markov", params, **resolve)
        generator.fit(change(paragraphs) if change else paragraphs, label_column=LABEL, seed=0)
    assert expected in str(raised.value)


# --- openai_chat, against a real local HTTP server --------------------------------------------------------------------

@pytest.fixture(scope="module")
def small() -> pd.DataFrame:
    return help_paragraphs(per_topic=10)


@pytest.fixture(autouse=True)
def _no_llm_environment(monkeypatch):
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "SYNTH_PIPELINE_LLM_BASE_URL", "SYNTH_PIPELINE_LLM_MODEL"):
        monkeypatch.delenv(name, raising=False)


def _chat(server: FakeChatServer, frame: pd.DataFrame, log: logging.Logger | None = None, **params):
    generator = resolve_generator("openai_chat", {"base_url": server.base_url, "model": "fake-model", **params},
                                  log=log)
    generator.fit(frame, label_column=LABEL, seed=0)
    return generator


def test_chat_rows_come_from_the_endpoint_class_by_class(small):
    with FakeChatServer() as server:
        generator = _chat(server, small, rows_per_request=4)
        rows = generator.sample(12, seed=5)
    assert list(rows.columns) == list(small.columns) and rows.dtypes.equals(small.dtypes)
    assert rows[LABEL].value_counts().to_dict() == {"assignment": 4, "comparisons": 4, "import": 4}
    assert all(len(text.split()) > 3 for text in rows["text"])
    assert [body["seed"] for body in server.bodies] == [5, 6, 7]
    assert {body["model"] for body in server.bodies} == {"fake-model"}
    sent = json.dumps(server.bodies)
    assert sum(json.dumps(text)[1:-1] in sent for text in small["text"]) >= 5  # few-shot examples are real rows
    info = generator.info()
    assert info.name == "llm.fake-model" and info.params["rows_per_request"] == 4
    assert info.extra["requests"] == 3 and info.extra["rows_rejected"] == 0 and info.extra["real_rows_sent"] == 15
    assert info.extra["total_tokens"] > 0 and info.extra["base_url_host"] == server.base_url.split("/")[2]


def test_unparsable_answers_bad_rows_and_server_errors_are_counted_and_asked_again(small, caplog):
    caplog.set_level(logging.INFO)
    with FakeChatServer(["malformed", "500", "bad_rows"]) as server:
        generator = _chat(server, small, logging.getLogger("sp.test.chat"), rows_per_request=3)
        rows = generator.sample(9, seed=1)
    assert len(rows) == 9 and rows[LABEL].value_counts().to_dict() == {"assignment": 3, "comparisons": 3, "import": 3}
    extra = generator.info().extra
    assert extra["answers_unparsable"] == 1
    assert extra["rejected_by_reason"] == {"unknown_label": 1, "unparsable": 3, "wrong_type": 1}
    # The 500 was retried by the openai client: one request of ours, two HTTP requests.
    assert server.statuses[:3] == [200, 500, 200] and len(server.bodies) == extra["requests"] + 1 == 5
    progress = [r.getMessage() for r in caplog.records if r.name == "sp.test.chat"]
    assert "openai_chat: 9/9 rows after 4 of at most 8 requests (5 rows rejected: " in progress[-1]


def test_the_request_cap_stops_sampling_with_the_counts_and_the_fix(small):
    with FakeChatServer(["malformed"] * 10) as server:
        generator = _chat(server, small, rows_per_request=2, max_requests=3)
        with pytest.raises(GeneratedDataError) as raised:
            generator.sample(6, seed=1)
    assert len(server.bodies) == 3
    message = str(raised.value)
    assert "0 of the 6 rows asked for after 3 requests, the cap (synthesizer.params.max_requests 3)" in message
    assert "raise synthesizer.params.max_requests" in message


def test_no_api_key_in_info_or_logs(small, caplog, monkeypatch):
    key = "sk-sp-test-0123456789-do-not-log"
    monkeypatch.setenv("SP_TEST_LLM_KEY", key)
    caplog.set_level(logging.DEBUG)  # every logger, the openai client's and httpx's included
    with FakeChatServer() as server:
        generator = _chat(server, small, logging.getLogger("sp.test.chat"), api_key_env="SP_TEST_LLM_KEY",
                          rows_per_request=5)
        generator.sample(6, seed=2)
    assert set(server.authorizations) == {f"Bearer {key}"}  # it was sent, to the endpoint only
    info = generator.info()
    assert key not in repr(info) and key not in json.dumps({"params": info.params, "extra": info.extra})
    assert info.params["api_key_env"] == "SP_TEST_LLM_KEY"
    assert caplog.records and key not in caplog.text


def test_a_named_key_variable_must_be_set_and_the_default_one_may_be_absent(small):
    with FakeChatServer() as server:
        with pytest.raises(GeneratorSpecError, match="api_key_env names the environment variable SP_NO_SUCH_KEY"):
            _chat(server, small, api_key_env="SP_NO_SUCH_KEY")
        _chat(server, small).sample(1, seed=0)
    assert server.authorizations == ["Bearer no-key"]


def test_no_examples_sends_no_real_row(small):
    with FakeChatServer() as server:
        generator = _chat(server, small, examples_per_request=0)
        generator.sample(6, seed=3)
    sent = json.dumps(server.bodies)
    assert not any(json.dumps(text)[1:-1] in sent for text in small["text"])
    assert generator.info().extra["real_rows_sent"] == 0


def test_chat_rows_are_deterministic_for_a_seed(small):
    with FakeChatServer() as server:
        generator = _chat(server, small)
        pd.testing.assert_frame_equal(generator.sample(7, seed=9), generator.sample(7, seed=9))


def test_a_wrong_path_is_a_spec_error_naming_model_and_base_url(small):
    with FakeChatServer() as server:
        generator = resolve_generator("openai_chat", {"base_url": server.base_url[:-3], "model": "fake-model"})
        generator.fit(small, label_column=LABEL, seed=0)
        with pytest.raises(GeneratorSpecError, match="answered HTTP 404 .*check synthesizer.params.model"):
            generator.sample(3, seed=0)


def test_base_url_and_model_fall_back_to_the_environment(monkeypatch):
    monkeypatch.setenv("OPENAI_BASE_URL", "http://user:secret@127.0.0.1:9/v1?token=secret")
    monkeypatch.setenv("SYNTH_PIPELINE_LLM_MODEL", "env-model")
    info = resolve_generator("openai_chat", {}).info()
    assert info.name == "llm.env-model" and info.params["base_url"] == "http://127.0.0.1:9/v1"
    assert "secret" not in repr(info)


_ENDPOINT = {"base_url": "http://127.0.0.1:8000/v1", "model": "m"}


@pytest.mark.parametrize(("params", "expected"), [
    pytest.param({"model": "m"}, "openai_chat needs synthesizer.params.base_url", id="no-base-url"),
    pytest.param({"base_url": "127.0.0.1:8000", "model": "m"}, "openai_chat needs synthesizer.params.base_url",
                 id="base-url-without-scheme"),
    pytest.param({"base_url": "http://127.0.0.1:8000/v1"}, "openai_chat needs synthesizer.params.model",
                 id="no-model"),
    pytest.param({**_ENDPOINT, "rows_per_request": 0},
                 "synthesizer.params.rows_per_request of openai_chat must be an integer from 1 to 200 (got 0)",
                 id="rows-per-request"),
    pytest.param({**_ENDPOINT, "examples_per_request": -1},
                 "examples_per_request of openai_chat must be an integer from 0", id="examples"),
    pytest.param({**_ENDPOINT, "api_key_env": "sk-live-abc"}, "must be the NAME of an environment variable",
                 id="key-not-name"),
    pytest.param({**_ENDPOINT, "temprature": 0.2},
                 "synthesizer.params ['temprature'] are not parameters of openai_chat", id="unknown-param"),
])
def test_chat_params_are_checked_naming_the_field(params, expected):
    with pytest.raises(GeneratorSpecError) as raised:
        resolve_generator("openai_chat", params)
    assert expected in str(raised.value)
    assert "sk-live-abc" not in str(raised.value)


def test_without_the_openai_package_the_llm_extra_is_named(small, monkeypatch):
    generator = resolve_generator("openai_chat", {"base_url": "http://127.0.0.1:9/v1", "model": "m"})
    monkeypatch.setitem(sys.modules, "openai", None)  # as if not installed
    with pytest.raises(MissingExtraError, match=r"pip install 'synth-pipeline\[llm\]'"):
        generator.fit(small, label_column=LABEL, seed=0)


def test_a_model_that_never_answers_rows_stops_early_with_the_fix(small):
    with FakeChatServer(["malformed"] * 40) as server:
        generator = _chat(server, small, rows_per_request=2, max_requests=30)
        with pytest.raises(GeneratedDataError) as raised:
            generator.sample(20, seed=1)
    assert len(server.bodies) == 5  # FUTILE_REQUESTS, not the cap of 30
    message = str(raised.value)
    assert "not one valid row in the first 5 answers" in message and "5 were not a JSON array" in message
    assert "before the cap of 30 requests" in message and "use a model that follows instructions" in message

"""The resumable prediction log keeps what was paid for when a dataset changes: a sample keeps its
prediction while its prompt is the same, and is redone when its prompt changed."""
from dvmap.evaluate.backends import Request, generate_into
from dvmap.evaluate.predictions import PredictionLog, prompt_key, prompt_keys


class CountingBackend:
    def __init__(self):
        self.asked = []

    def generate(self, requests):
        for r in requests:
            self.asked.append(r.sample_id)
            yield {"sample_id": r.sample_id, "response": f"<answer>{r.options[0]}</answer>", "parsed": r.options[0],
                   "status": "ok", "option_probs": None, "error": None}


def ask(sid, text):
    return Request(sid, [{"role": "user", "content": text}], ["Yes", "No"])


def test_unchanged_prompts_keep_their_predictions(tmp_path):
    first = [ask("a", "q1"), ask("b", "q2")]
    backend = CountingBackend()
    generate_into(PredictionLog(tmp_path / "log.jsonl", prompt_keys(first)), backend, first)
    assert backend.asked == ["a", "b"]
    # a sample added (a new country), one reworded: only those two are generated again
    second = [ask("a", "q1"), ask("b", "q2 reworded"), ask("c", "q3")]
    backend = CountingBackend()
    store = PredictionLog(tmp_path / "log.jsonl", prompt_keys(second))
    generate_into(store, backend, second)
    assert sorted(backend.asked) == ["b", "c"]
    assert set(store.load()) == {"a", "b", "c"}


def test_options_are_part_of_the_key():
    assert prompt_key([{"role": "user", "content": "q"}], ["Yes", "No"]) != prompt_key(
        [{"role": "user", "content": "q"}], ["No", "Yes"])

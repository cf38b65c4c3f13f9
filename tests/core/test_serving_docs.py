"""docs/serving.md: its REST bodies, sent to the SavedModels, give the responses it shows."""

import json
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from geomae_tf.analysis import serving_examples
from geomae_tf.zoo.weights import entry_dir

REPO = Path(__file__).resolve().parents[2]
PAGE = REPO / "docs" / "serving.md"
EXAMPLES = serving_examples.EXAMPLES


@pytest.fixture(scope="module")
def documented():
    return serving_examples.documented_excerpts(PAGE.read_text())


def test_every_kind_of_signature_has_an_example(documented):
    shown = {(e["entry"], e["signature"]) for e in EXAMPLES}
    assert shown == set(documented)
    signatures = {signature for _, signature in shown}
    assert {"serving_default", "encode", "decode", "atoms"} <= signatures
    assert ("position_encoder_1d", "serving_default") in shown       # signals -> position
    assert ("position_decoder_1d", "serving_default") in shown       # position -> signals
    text = PAGE.read_text()
    assert "docker run" in text and "tensorflow/serving" in text and "--model_config_file" in text
    assert "requests.post" in text and '"instances"' in text


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda e: f"{e['entry']}-{e['signature']}")
def test_documented_body_gives_the_documented_response(example, documented):
    # the body a client would send, through JSON, to the signature TF Serving runs
    body = json.loads(json.dumps(serving_examples.request_body(example)))
    assert body["signature_name"] == example["signature"] and len(body["instances"]) == 1
    loaded = tf.saved_model.load(str(entry_dir(example["entry"])))
    signature = loaded.signatures[example["signature"]]
    inputs = signature.structured_input_signature[1]
    assert list(inputs) == [example["input"]]
    outputs = signature(**{example["input"]: tf.constant(body["instances"], tf.float32)})
    assert list(outputs) == [example["output"]]
    y = outputs[example["output"]].numpy().astype(np.float64)
    expected = tuple(d if d is not None else 1 for d in signature.structured_outputs[
        example["output"]].shape)
    assert y.shape == expected
    shown = np.asarray(documented[(example["entry"], example["signature"])], np.float64)
    np.testing.assert_allclose(np.asarray(example["excerpt"](y), np.float64), shown,
                               atol=2e-3, err_msg=f"{PAGE.name} is out of step: run `python "
                               "-m geomae_tf.analysis.serving_examples`")


def test_documented_numbers_say_what_the_models_do(documented):
    # the one-hot at sample 20 is read as position 20, the decoded Dirac at 20.5 peaks
    # at samples 20-21, a decoded disk of radius 10 is 0 outside and 1 inside its edge
    assert abs(documented[("position_encoder_1d", "serving_default")][0] - 20.0) < 0.5
    signal = documented[("position_decoder_1d", "serving_default")]   # samples 17-24
    assert int(np.argmax(signal)) + 17 in (20, 21)
    row = np.asarray(documented[("disk_ae", "decode")])              # columns 16-31
    assert row[:4].max() < 0.1 and row[-6:].min() > 0.9

"""The draggable figures (issue 29): the JavaScript port of the readout functions
agrees with Python, and the live face recomputes on a drag.

``src/dotbook/static/dotbook-drag.js`` ports :func:`dotbook.geometry.pair_readout` and
:func:`dotbook.attention.query_readout`; node evaluates the port on the same 200
random inputs (degenerate ones included: zero vectors, parallel and antiparallel
vectors, orthogonal ones, huge and tiny temperatures) and every number must agree
within 1e-12 (relative, or absolute near 0), every undefined one be undefined in both.
"""

from __future__ import annotations

import json
import math
import random
import shutil
import subprocess
from pathlib import Path

import pytest
import torch

from dotbook import attention, geometry

JS = Path(__file__).resolve().parents[1] / "src" / "dotbook" / "static" / "dotbook-drag.js"
NODE = shutil.which("node")
CASES = 200

RUNNER = """
const port = require(process.argv[1]);
let input = '';
process.stdin.on('data', c => input += c);
process.stdin.on('end', () => {
  const {pairs, queries} = JSON.parse(input);
  const out = {
    pairs: pairs.map(([a, b]) => port.pairReadout(a, b)),
    queries: queries.map(([q, k, v, t]) => port.queryReadout(q, k, v, t)),
  };
  process.stdout.write(JSON.stringify(out));
});
"""


def _pair_cases(rng: random.Random) -> list[tuple[list[float], list[float]]]:
    fixed = [([0.0, 0.0], [1.0, 2.0]), ([3.0, 4.0], [0.0, 0.0]), ([0.0, 0.0], [0.0, 0.0]),
             ([2.0, 1.0], [4.0, 2.0]), ([2.0, 1.0], [-6.0, -3.0]), ([2.0, 1.0], [-1.0, 2.0]),
             ([1e-9, 0.0], [0.0, 1e-9]), ([5.0, -5.0], [5.0, -5.0]), ([0.3, 0.1], [-0.1, 0.3])]
    cases = list(fixed)
    while len(cases) < CASES:
        a = [rng.uniform(-5, 5), rng.uniform(-5, 5)]
        kind = rng.randrange(4)
        if kind == 0:  # parallel or antiparallel
            k = rng.uniform(-3, 3)
            b = [k * a[0], k * a[1]]
        elif kind == 1:  # on a grid, as the snap gives
            a = [rng.randrange(-10, 11) / 2, rng.randrange(-10, 11) / 2]
            b = [rng.randrange(-10, 11) / 2, rng.randrange(-10, 11) / 2]
        else:
            b = [rng.uniform(-5, 5), rng.uniform(-5, 5)]
        cases.append((a, b))
    return cases


def _query_cases(rng: random.Random) -> list[tuple]:
    cases = []
    for i in range(CASES):
        T = rng.randrange(1, 7)
        k = [[rng.uniform(-3, 3), rng.uniform(-3, 3)] for _ in range(T)]
        v = [[rng.uniform(-3, 3), rng.uniform(-3, 3)] for _ in range(T)]
        q = [rng.uniform(-5, 5), rng.uniform(-5, 5)] if i % 10 else [0.0, 0.0]
        if i % 7 == 0 and T > 1:
            k[1] = list(k[0])  # a tie
        temperature = [1.0, 1e300, 1e-300, 1e6, 1e-6, 10 ** rng.uniform(-2, 2)][i % 6]
        cases.append((q, k, v, temperature))
    return cases


def _close(x: object, y: object, where: str) -> None:
    if isinstance(x, list):
        assert isinstance(y, list) and len(x) == len(y), (where, x, y)
        for i, (xi, yi) in enumerate(zip(x, y, strict=True)):
            _close(xi, yi, f"{where}[{i}]")
    elif x is None or isinstance(x, str):
        assert x == y, (where, x, y)
    else:
        assert y is not None and math.isfinite(x) and math.isfinite(y), (where, x, y)
        assert math.isclose(x, y, rel_tol=1e-12, abs_tol=1e-12), (where, x, y)


@pytest.fixture(scope="module")
def cases_and_port() -> tuple[dict, dict]:
    if NODE is None:
        pytest.skip("node is not installed")
    rng = random.Random(29)
    cases = {"pairs": _pair_cases(rng), "queries": _query_cases(rng)}
    done = subprocess.run([NODE, "-e", RUNNER, str(JS)], input=json.dumps(cases),
                          capture_output=True, text=True, timeout=60, check=True)
    return cases, json.loads(done.stdout)


def test_pair_readout_port_agrees_with_python(cases_and_port):
    cases, port = cases_and_port
    assert len(cases["pairs"]) == CASES
    for i, ((a, b), js) in enumerate(zip(cases["pairs"], port["pairs"], strict=True)):
        py = geometry.pair_readout(torch.tensor(a, dtype=torch.float64),
                                   torch.tensor(b, dtype=torch.float64))
        assert set(py) == set(js), (set(py) ^ set(js))
        for key in py:
            _close(py[key], js[key], f"pair {i} {key}")
        zero = a == [0.0, 0.0] or b == [0.0, 0.0]
        assert (py["cos"] is None) == zero and (py["theta_deg"] is None) == zero
        assert (py["region"] == "undefined") == zero


def test_query_readout_port_agrees_with_python(cases_and_port):
    cases, port = cases_and_port
    for i, ((q, k, v, t), js) in enumerate(zip(cases["queries"], port["queries"], strict=True)):
        py = attention.query_readout(torch.tensor(q, dtype=torch.float64),
                                     torch.tensor(k, dtype=torch.float64),
                                     torch.tensor(v, dtype=torch.float64), temperature=t)
        for key in ("scores", "weights", "output"):
            _close(py[key], js[key], f"query {i} {key} (T = {t})")
        assert math.isclose(sum(py["weights"]), 1.0, rel_tol=1e-12)


def test_degenerate_readouts():
    zero, a = torch.zeros(2, dtype=torch.float64), torch.tensor([2.0, 1.0], dtype=torch.float64)
    r = geometry.pair_readout(zero, a)
    assert r["dot"] == 0.0 and r["cos"] is None and r["projection"] is None
    assert r["region"] == "undefined"
    r = geometry.pair_readout(a, zero)  # b = 0: the projection exists (0), the angle does not
    assert r["projection"] == 0.0 and r["theta_deg"] is None
    assert geometry.pair_readout(a, -3 * a)["theta_deg"] == 180.0
    assert geometry.pair_readout(a, torch.tensor([-1.0, 2.0]).double())["region"] == "orthogonal"
    k = torch.tensor([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]], dtype=torch.float64)
    v = torch.eye(3, dtype=torch.float64)
    q = torch.tensor([3.0, 0.0], dtype=torch.float64)
    sharp = attention.query_readout(q, k, v, temperature=1e-300)  # ties share the weight
    assert sharp["weights"] == [0.5, 0.5, 0.0]
    flat = attention.query_readout(q, k, v, temperature=1e300)
    assert flat["weights"] == pytest.approx([1 / 3] * 3, abs=1e-15)


@pytest.mark.parametrize("a, b, match", [
    (torch.ones(3).double(), torch.ones(3).double(), "plane vectors"),
    (torch.tensor([float("nan"), 0.0]).double(), torch.ones(2).double(), "inf or NaN"),
    ([1.0, 2.0], torch.ones(2).double(), "torch.Tensor"),
    (torch.ones(2).double(), torch.ones(3).double(), "shape"),
])
def test_pair_readout_refuses_bad_input(a, b, match):
    with pytest.raises((TypeError, ValueError), match=match):
        geometry.pair_readout(a, b)


@pytest.mark.parametrize("temperature", [0.0, -1.0, float("inf"), float("nan")])
def test_query_readout_refuses_bad_temperature(temperature):
    k = torch.eye(2, dtype=torch.float64)
    with pytest.raises(ValueError, match="temperature"):
        attention.query_readout(torch.ones(2).double(), k, k, temperature=temperature)

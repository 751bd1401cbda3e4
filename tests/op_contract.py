"""The one test template every op instantiates: what ARCHITECTURE.md promises of each op, for each op.

A test module subclasses :class:`OpContract` as ``class TestContract(OpContract)`` and fills in:

* ``inputs(device, dtype)``: fresh random arguments of the public function (a tuple);
* ``fast(*inputs)``: the public function; ``reference(*inputs)``: its plain-PyTorch reference;
* ``calls(*inputs)``: the registered operators the public function reaches, as ``(overload, args, kwargs)``,
  for ``opcheck`` and for the argument checks of the op itself;
* ``grad_inputs``: positions of the inputs autograd differentiates (empty: not differentiable);
* ``out(*inputs)``: for an op with ``out=``, the out buffers and a call writing them, and ``alias(*inputs)``
  an out buffer sharing memory with an input (refused);
* ``bad``: ``(name, change, exception, message)``: ``change(inputs)`` returns bad inputs, which the public
  function refuses with ``exception`` matching ``message``, and, where the op is compiled, the op itself
  refuses with the same exception type (one type per kind of error, whichever side checks).

Every output element is compared (``torch.testing.assert_close`` on whole tensors).
"""

from __future__ import annotations

import pytest
import torch

from hfc_fast import _ext


def _tensors(value):
    return list(value) if isinstance(value, tuple | list) else [value]


class OpContract:
    dtypes = (torch.float32, torch.float64)
    grad_inputs: tuple = ()
    bad: tuple = ()
    compiles_only_as_an_op = False  # the reference itself breaks a full graph (data-dependent shapes)
    tolerance = {torch.float32: dict(atol=2e-5, rtol=1e-5), torch.float64: dict(atol=1e-10, rtol=1e-10)}

    # ---------------------------------------------------------------- to fill in
    def inputs(self, device, dtype) -> tuple:
        raise NotImplementedError

    def fast(self, *inputs):
        raise NotImplementedError

    def reference(self, *inputs):
        raise NotImplementedError

    def calls(self, *inputs) -> list:
        return []

    out = None  # (inputs...) -> (buffers, write); write() fills the buffers through out=
    alias = None  # (inputs...) -> a call with out= sharing memory with an input

    # ---------------------------------------------------------------- the contract
    @pytest.mark.compiled
    @pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
    def test_the_compiled_op_matches_the_reference(self, device, dtype):
        if dtype not in self.dtypes:
            pytest.skip(f"the op takes no {dtype}")
        inputs = self.inputs(device, dtype)
        assert _ext.use_compiled(*[t for t in inputs if isinstance(t, torch.Tensor)])
        fast = _tensors(self.fast(*[t.clone() if isinstance(t, torch.Tensor) else t for t in inputs]))
        ref = _tensors(self.reference(*[t.clone() if isinstance(t, torch.Tensor) else t for t in inputs]))
        assert len(fast) == len(ref)
        for f, r in zip(fast, ref, strict=True):
            assert f.shape == r.shape and f.dtype == r.dtype and f.device == r.device
            torch.testing.assert_close(f, r, **self.tolerance[dtype])

    def test_autograd_matches_finite_differences(self):
        if not self.grad_inputs:
            pytest.skip("the op is not differentiable")
        inputs = list(self.inputs("cpu", torch.float64))
        for i in self.grad_inputs:
            inputs[i] = inputs[i].detach().requires_grad_(True)

        def f(*diff):
            args = list(inputs)
            for i, t in zip(self.grad_inputs, diff, strict=True):
                args[i] = t
            return tuple(_tensors(self.fast(*args)))

        assert torch.autograd.gradcheck(f, tuple(inputs[i] for i in self.grad_inputs), atol=1e-6)

    @pytest.mark.compiled
    def test_opcheck(self):
        calls = self.calls(*self.inputs("cpu", torch.float32))
        assert calls, "an op reaches at least one registered operator"
        for overload, args, kwargs in calls:
            torch.library.opcheck(overload, args, kwargs)

    def test_torch_compile_fullgraph(self):
        if self.compiles_only_as_an_op and not _ext.LOADED:
            pytest.skip("the reference breaks a full graph; the registered op with its fake kernel does not")
        torch._dynamo.reset()  # every op's contract shares this code object: start each from a fresh cache
        inputs = self.inputs("cpu", torch.float32)

        def run(*args):
            return tuple(t * 1 for t in _tensors(self.fast(*args)))  # an op after it: one graph, not a call

        compiled = torch.compile(run, fullgraph=True, backend="aot_eager")
        eager = run(*[t.clone() if isinstance(t, torch.Tensor) else t for t in inputs])
        for c, e in zip(compiled(*[t.clone() if isinstance(t, torch.Tensor) else t for t in inputs]), eager,
                        strict=True):
            torch.testing.assert_close(c, e, atol=1e-6, rtol=1e-6)

    def test_out_is_written_completely_and_never_aliases_an_input(self, device):
        if self.out is None:
            pytest.skip("the op has no out= form")
        inputs = self.inputs(device, torch.float32)
        buffers, write = self.out(*inputs)
        for b in buffers:
            b.fill_(float("nan"))
        write()
        for b, r in zip(buffers, _tensors(self.reference(*inputs)), strict=True):
            torch.testing.assert_close(b, r, **self.tolerance[torch.float32])
        with pytest.raises(ValueError, match="share"):
            self.alias(*inputs)

    def test_bad_input_is_refused_with_one_exception_type_on_either_side(self):
        if not self.bad:
            pytest.skip("no bad input listed")
        for name, change, exception, message in self.bad:
            bad = change(list(self.inputs("cpu", torch.float32)))
            with pytest.raises(exception, match=message):
                self.fast(*bad)
            if _ext.LOADED:
                for overload, args, kwargs in self.calls(*bad):
                    with pytest.raises(exception):
                        overload(*args, **kwargs)
                    break  # the first operator the public function reaches is the one that checks
            assert name

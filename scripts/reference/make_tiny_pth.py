#!/usr/bin/env python3
"""Writes tiny Open-Unmix state_dicts in torch.save's on-disk format, without PyTorch.

The import test (training/export/pth.test.ts) reads these; PyTorch cannot be installed here, so this
script reproduces what torch.save(model.state_dict(), f) writes (zip format, torch >= 1.6):

  <prefix>/data.pkl     protocol-2 pickle of a collections.OrderedDict (with a `_metadata` attribute)
                        whose values are tensors reduced to torch._utils._rebuild_tensor_v2(storage,
                        storage_offset, size, stride, requires_grad, backward_hooks); each storage is a
                        persistent id ('storage', torch.FloatStorage, key, 'cpu', numel)
  <prefix>/byteorder    "little"
  <prefix>/data/<key>   the storage's raw little-endian bytes, stored uncompressed, 64-byte aligned
  <prefix>/version      "3"

Fake `torch` and `torch._utils` modules stand in for the real ones so that pickle writes the same
GLOBAL opcodes (pickle only records module and qualified names). Also writes the legacy (pre-1.6,
non-zip) format that the official umxhq weights of 2019 use: a magic-number pickle, the protocol
version, a sys-info dict, the object pickle with 6-tuple persistent ids, the sorted storage keys, then
each storage as an int64 element count followed by its bytes.

Expected values go to <name>.json: {key: {"shape": [...], "data": [...]}} (the float32 values, as the
shortest decimals that round back to them).

Usage: python3 scripts/reference/make_tiny_pth.py training/export/__fixtures__
"""

import collections
import json
import os
import pickle
import struct
import sys
import types
import zipfile

import numpy as np

# Stand-ins for the torch names that appear in the pickle.
torch = types.ModuleType("torch")
torch_utils = types.ModuleType("torch._utils")
torch._utils = torch_utils
sys.modules["torch"] = torch
sys.modules["torch._utils"] = torch_utils


def _rebuild_tensor_v2(*args):  # never called here; only its name is pickled
    raise NotImplementedError


_rebuild_tensor_v2.__module__ = "torch._utils"
torch_utils._rebuild_tensor_v2 = _rebuild_tensor_v2


def _storage_class(name):
    cls = type(name, (), {})
    cls.__module__ = "torch"
    setattr(torch, name, cls)
    return cls


STORAGE_CLASSES = {
    np.dtype("<f4"): _storage_class("FloatStorage"),
    np.dtype("<i8"): _storage_class("LongStorage"),
}


class Storage:
    def __init__(self, key, array):
        self.key = key
        self.array = np.ascontiguousarray(array).reshape(-1)


class Tensor:
    """A view into a Storage; pickles the way torch.Tensor does."""

    def __init__(self, storage, offset, shape, stride):
        self.storage, self.offset, self.shape, self.stride = storage, offset, tuple(shape), tuple(stride)

    def __reduce_ex__(self, protocol):
        args = (self.storage, self.offset, self.shape, self.stride, False, collections.OrderedDict())
        return (_rebuild_tensor_v2, args)

    def values(self):
        return np.lib.stride_tricks.as_strided(
            self.storage.array[self.offset :],
            shape=self.shape,
            strides=[s * self.storage.array.itemsize for s in self.stride],
        )


class ZipPickler(pickle.Pickler):
    def persistent_id(self, obj):
        if isinstance(obj, Storage):
            return ("storage", STORAGE_CLASSES[obj.array.dtype], obj.key, "cpu", obj.array.size)
        return None


class LegacyPickler(pickle.Pickler):
    def persistent_id(self, obj):
        if isinstance(obj, Storage):
            return ("storage", STORAGE_CLASSES[obj.array.dtype], obj.key, "cpu", obj.array.size, None)
        return None


def umx_shapes(hidden, layers, bidirectional, max_bin, nb_bins, channels=2):
    """open-unmix-pytorch OpenUnmix.state_dict() names and shapes, in its order (plus extras it carries)."""
    h = hidden // 2 if bidirectional else hidden
    shapes = [("fc1.weight", (hidden, channels * max_bin))]
    shapes += [(f"bn1.{n}", (hidden,)) for n in ("weight", "bias", "running_mean", "running_var")]
    shapes.append(("bn1.num_batches_tracked", ()))
    for layer in range(layers):
        in_size = hidden if layer == 0 else 2 * h if bidirectional else h
        for suffix in ("", "_reverse") if bidirectional else ("",):
            shapes += [
                (f"lstm.weight_ih_l{layer}{suffix}", (4 * h, in_size)),
                (f"lstm.weight_hh_l{layer}{suffix}", (4 * h, h)),
                (f"lstm.bias_ih_l{layer}{suffix}", (4 * h,)),
                (f"lstm.bias_hh_l{layer}{suffix}", (4 * h,)),
            ]
    shapes.append(("fc2.weight", (hidden, 2 * hidden)))
    shapes += [(f"bn2.{n}", (hidden,)) for n in ("weight", "bias", "running_mean", "running_var")]
    shapes.append(("fc3.weight", (channels * nb_bins, hidden)))
    shapes += [(f"bn3.{n}", (channels * nb_bins,)) for n in ("weight", "bias", "running_mean", "running_var")]
    shapes += [("input_mean", (max_bin,)), ("input_scale", (max_bin,))]
    shapes += [("output_scale", (nb_bins,)), ("output_mean", (nb_bins,))]
    # The 2019 umxhq model kept its STFT window in the state_dict; the importer must skip it.
    shapes.append(("stft.window", (2 * (nb_bins - 1),)))
    return shapes


def make_state(seed, **config):
    rng = np.random.default_rng(seed)
    state = collections.OrderedDict()
    state._metadata = collections.OrderedDict([("", {"version": 1}), ("bn1", {"version": 2})])
    storages = []
    for name, shape in umx_shapes(**config):
        if name.endswith("num_batches_tracked"):
            arr = np.array(1234, dtype="<i8")
        elif name.endswith("running_var"):
            arr = rng.uniform(0.5, 2, size=shape).astype("<f4")  # a variance: positive
        else:
            arr = rng.uniform(-1, 1, size=shape).astype("<f4")
        key = str(len(storages))
        if name == "fc2.weight":
            # Stored transposed (column-major view), as after a .t() in PyTorch: tests stride handling.
            storage = Storage(key, np.ascontiguousarray(arr.T))
            tensor = Tensor(storage, 0, shape, (1, shape[0]))
        elif name == "bn2.bias":
            # A view at an offset into a larger storage.
            storage = Storage(key, np.concatenate([np.zeros(3, "<f4"), arr, np.zeros(2, "<f4")]))
            tensor = Tensor(storage, 3, shape, (1,))
        else:
            storage = Storage(key, arr)
            strides = [int(np.prod(shape[i + 1 :])) for i in range(len(shape))]
            tensor = Tensor(storage, 0, shape, strides)
        storages.append(storage)
        state[name] = tensor
    return state, storages


def write_zip(path, state, storages):
    prefix = os.path.splitext(os.path.basename(path))[0]
    buf = _pickle(ZipPickler, state)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as zf:
        _write_aligned(zf, f"{prefix}/data.pkl", buf)
        _write_aligned(zf, f"{prefix}/byteorder", b"little")
        for s in storages:
            _write_aligned(zf, f"{prefix}/data/{s.key}", s.array.tobytes())
        _write_aligned(zf, f"{prefix}/version", b"3\n")


def _pickle(pickler_cls, obj):
    import io

    out = io.BytesIO()
    pickler_cls(out, protocol=2).dump(obj)
    return out.getvalue()


def _write_aligned(zf, name, data):
    # torch's writer pads each local header's extra field ("FB" id) so record data starts at a multiple of 64.
    info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
    info.compress_type = zipfile.ZIP_STORED
    header_end = zf.fp.tell() + 30 + len(name.encode()) + 4
    pad = (-header_end) % 64
    info.extra = struct.pack("<HH", 0x4246, pad) + b"Z" * pad
    zf.writestr(info, data)


def write_legacy(path, state, storages):
    with open(path, "wb") as f:
        pickle.dump(0x1950A86A20F9469CFC6C, f, protocol=2)  # torch's MAGIC_NUMBER
        pickle.dump(1001, f, protocol=2)  # PROTOCOL_VERSION
        sys_info = {"protocol_version": 1001, "little_endian": True, "type_sizes": {"short": 2, "int": 4, "long": 4}}
        pickle.dump(sys_info, f, protocol=2)
        f.write(_pickle(LegacyPickler, state))
        keys = sorted(s.key for s in storages)
        pickle.dump(keys, f, protocol=2)
        by_key = {s.key: s for s in storages}
        for key in keys:
            arr = by_key[key].array
            f.write(struct.pack("<q", arr.size))
            f.write(arr.tobytes())


def write_expected(path, state):
    expected = {}
    for name, tensor in state.items():
        if tensor.storage.array.dtype != np.dtype("<f4"):
            continue
        values = tensor.values()
        # Shortest decimal that rounds back to the same float32 (Math.fround in the test recovers it exactly).
        data = [float(np.format_float_positional(v, unique=True)) for v in values.reshape(-1)]
        expected[name] = {"shape": list(values.shape), "data": data}
    with open(path, "w") as f:
        json.dump(expected, f)


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "training/export/__fixtures__"
    os.makedirs(out, exist_ok=True)
    tiny = dict(hidden=4, max_bin=6, nb_bins=9)
    cases = [
        ("tiny-vocals", 1, dict(tiny, layers=2, bidirectional=True), write_zip),
        ("tiny-drums", 2, dict(tiny, layers=2, bidirectional=True), write_zip),
        ("tiny-uni", 3, dict(tiny, layers=1, bidirectional=False), write_zip),
        ("tiny-legacy", 4, dict(tiny, layers=2, bidirectional=True), write_legacy),
    ]
    for name, seed, config, writer in cases:
        state, storages = make_state(seed, **config)
        writer(os.path.join(out, f"{name}.pth"), state, storages)
        write_expected(os.path.join(out, f"{name}.json"), state)
        print(f"wrote {name}.pth and {name}.json")


if __name__ == "__main__":
    main()

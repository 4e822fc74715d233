"""PyTorch CUDA timing of the network Stemdeck's WebGPU engine runs (issue 9's reference figure).

Open-Unmix as the project defines it (src/core/model): input crop to max_bin with a learnt affine,
fc1 -> BatchNorm -> tanh -> LSTM stack (bidirectional: hidden/2 units per direction) -> skip concat
-> fc2 -> BatchNorm -> ReLU -> fc3 -> BatchNorm -> output affine -> ReLU -> mask x mixture. Random
weights: only the shapes matter for timing. Eval mode, float32, one target, T frames of a stereo
4096-point STFT (2049 bins); the mixture is copied to the GPU and the estimate back to the CPU inside
each timed run, as in the WebGPU bench. Written for this project; prints and writes JSON.

  python3 torch_umx.py --hidden 128,512 --frames 256 --runs 20 --json out.json
"""
import argparse
import json
import statistics
import time

import torch
from torch import nn


class Umx(nn.Module):
    def __init__(self, hidden: int, layers: int = 3, bins: int = 2049, max_bin: int = 1487, channels: int = 2):
        super().__init__()
        self.bins, self.max_bin, self.channels, self.hidden = bins, max_bin, channels, hidden
        self.input_mean = nn.Parameter(torch.zeros(max_bin))
        self.input_scale = nn.Parameter(torch.ones(max_bin))
        self.fc1 = nn.Linear(max_bin * channels, hidden, bias=False)
        self.bn1 = nn.BatchNorm1d(hidden)
        self.lstm = nn.LSTM(hidden, hidden // 2, num_layers=layers, bidirectional=True, dropout=0.4)
        self.fc2 = nn.Linear(2 * hidden, hidden, bias=False)
        self.bn2 = nn.BatchNorm1d(hidden)
        self.fc3 = nn.Linear(hidden, bins * channels, bias=False)
        self.bn3 = nn.BatchNorm1d(bins * channels)
        self.output_scale = nn.Parameter(torch.ones(bins))
        self.output_mean = nn.Parameter(torch.ones(bins))

    def forward(self, mix: torch.Tensor) -> torch.Tensor:
        # mix: [T, batch, channels, bins] magnitudes.
        frames, batch = mix.shape[:2]
        x = (mix[..., : self.max_bin] + self.input_mean) * self.input_scale
        x = torch.tanh(self.bn1(self.fc1(x.reshape(-1, self.channels * self.max_bin))))
        x = x.reshape(frames, batch, self.hidden)
        y, _ = self.lstm(x)
        x = torch.cat([x, y], -1).reshape(-1, 2 * self.hidden)
        x = torch.relu(self.bn2(self.fc2(x)))
        x = self.bn3(self.fc3(x)).reshape(frames, batch, self.channels, self.bins)
        return torch.relu(x * self.output_scale + self.output_mean) * mix


def time_model(hidden: int, frames: int, runs: int, device: str) -> dict:
    torch.manual_seed(0)
    model = Umx(hidden).to(device).eval()
    mix_cpu = torch.rand(frames, 1, 2, 2049) * 2
    times = []
    with torch.inference_mode():
        for i in range(runs + 3):
            if device == 'cuda':
                torch.cuda.synchronize()
            t0 = time.perf_counter()
            out = model(mix_cpu.to(device)).cpu()
            if device == 'cuda':
                torch.cuda.synchronize()
            if i >= 3:  # warm-up: cuDNN plans, allocator
                times.append((time.perf_counter() - t0) * 1000)
    assert out.shape == mix_cpu.shape
    ms = statistics.median(times)
    seconds = frames * 1024 / 44100
    return {'hidden': hidden, 'frames': frames, 'torch_ms': round(ms, 3), 'torch_rtf': round(ms / 1000 / seconds, 5)}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--hidden', default='128,512')
    p.add_argument('--frames', type=int, default=256)
    p.add_argument('--runs', type=int, default=20)
    p.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    p.add_argument('--json')
    a = p.parse_args()
    name = torch.cuda.get_device_name(0) if a.device == 'cuda' else 'cpu'
    report = {'device': name, 'torch': torch.__version__, 'models': []}
    for h in (int(x) for x in a.hidden.split(',')):
        r = time_model(h, a.frames, a.runs, a.device)
        print(f"hidden {h}: {r['torch_ms']} ms per {a.frames}-frame chunk on {name} (RTF {r['torch_rtf']})")
        report['models'].append(r)
    if a.json:
        with open(a.json, 'w') as f:
            json.dump(report, f, indent=1)


if __name__ == '__main__':
    main()

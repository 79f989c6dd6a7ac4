"""A GRU over a padded batch with per-row lengths, computing what ``pack_padded_sequence`` does, for export.

Packed sequences have data-dependent shapes that ``torch.export`` (the ONNX exporter) cannot capture. Padding comes
after each row's tokens, so the forward direction over the padded batch is already right at every valid step; the
backward direction runs on each row's valid steps reversed in place, and its outputs are reversed back. Outputs past
a row's length are zero, as ``pad_packed_sequence`` leaves them. The weights are the GRU's own parameters, shared.

    >>> gru = nn.GRU(8, 16, num_layers=2, batch_first=True, bidirectional=True)
    >>> outputs, hidden = PaddedGRU(gru)(x, lengths)   # as gru(pack_padded_sequence(x, lengths, ...)), unpacked
"""

from __future__ import annotations

import torch
from torch import Tensor, nn


class PaddedGRU(nn.Module):
    """``gru`` (batch first, any layer count, one or two directions) run over a padded batch without packing."""

    def __init__(self, gru: nn.GRU):
        super().__init__()
        if not gru.batch_first:
            raise ValueError("PaddedGRU takes a batch-first GRU")
        self.layers = gru.num_layers
        self.directions = 2 if gru.bidirectional else 1
        self.cells = nn.ModuleList()
        for layer in range(gru.num_layers):
            for suffix in ("", "_reverse")[: self.directions]:
                cell = nn.GRU(gru.input_size if layer == 0 else gru.hidden_size * self.directions, gru.hidden_size,
                              batch_first=True, bias=gru.bias)
                for name in cell._flat_weights_names:
                    setattr(cell, name, getattr(gru, name.replace("_l0", f"_l{layer}{suffix}")))
                self.cells.append(cell)

    def forward(self, x: Tensor, lengths: Tensor) -> tuple[Tensor, Tensor]:
        """Outputs ``(batch, steps, directions * hidden)`` and the last states ``(layers * directions, batch,
        hidden)``, as ``nn.GRU`` gives them; ``lengths`` are at least 1."""
        steps = torch.arange(x.shape[1], device=x.device)[None, :]
        lengths = lengths.to(x.device)
        valid = (steps < lengths[:, None]).unsqueeze(-1)
        # Row b's valid steps reversed in place, padding left where it is; applying it twice restores the order.
        reverse = torch.where(steps < lengths[:, None], lengths[:, None] - 1 - steps, steps)
        last = (lengths - 1).view(-1, 1, 1)
        hidden = []
        for layer in range(self.layers):
            outputs = []
            for direction in range(self.directions):
                cell = self.cells[layer * self.directions + direction]
                if direction == 0:
                    out = cell(x)[0]
                    final = out
                else:
                    final = cell(_gather_steps(x, reverse))[0]
                    out = _gather_steps(final, reverse)
                hidden.append(final.gather(1, last.expand(-1, 1, final.shape[-1])).squeeze(1))
                outputs.append(out)
            x = torch.cat(outputs, dim=-1) * valid
        return x, torch.stack(hidden)


def _gather_steps(x: Tensor, index: Tensor) -> Tensor:
    return x.gather(1, index.unsqueeze(-1).expand(-1, -1, x.shape[-1]))

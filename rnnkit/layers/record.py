"""Per-step recordings of a sequence layer: hidden states, cell states and gate activations."""

from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor


@dataclass
class Record:
    """What every step of every (layer, direction) computed, for diagnostics and plots.

    `steps[layer][direction]` maps a name to a tensor laid out like the layer's output,
    (T, B, ·) or (B, T, ·) with batch_first, (T, ·) for unbatched input, zero at padded steps.
    Names: "h" for every cell, "a" (pre-activation) for Elman, "c", "i", "f", "g", "o" for LSTM, "r", "z", "n" for GRU.
    """

    steps: list[list[dict[str, Tensor]]]

    @classmethod
    def from_list(cls, flat: list[dict[str, Tensor]], num_layers: int, num_directions: int,
                  batch_first: bool) -> Record:
        if batch_first:
            flat = [{k: v.transpose(0, 1) for k, v in d.items()} for d in flat]
        return cls([flat[k * num_directions:(k + 1) * num_directions] for k in range(num_layers)])

    def map(self, fn) -> Record:
        """A new Record with `fn` applied to every recorded tensor."""
        return Record([[{k: fn(v) for k, v in d.items()} for d in layer] for layer in self.steps])

    def get(self, name: str, layer: int = 0, direction: int = 0) -> Tensor:
        """One recorded quantity, e.g. `record.get("f", layer=1)` for the second layer's forget gates."""
        entry = self.steps[layer][direction]
        if name not in entry:
            raise KeyError(f"no recording named {name!r}; this layer records {sorted(entry)}")
        return entry[name]

    def __repr__(self) -> str:  # names and shapes, not every recorded number
        dirs = len(self.steps[0]) if self.steps else 0
        shapes = ", ".join(f"{k}{tuple(v.shape)}" for k, v in sorted(self.steps[0][0].items())) if dirs else ""
        return f"Record(layers={len(self.steps)}, directions={dirs}, steps[0][0]: {shapes})"

    @property
    def names(self) -> list[str]:
        return sorted(self.steps[0][0]) if self.steps and self.steps[0] else []

"""torch.nn.utils.rnn: variable-length batches of sequences, padded or packed.

A PackedSequence holds the steps of a batch sorted by decreasing length, time-major: `data`
(sum of lengths, *) lists, for each step t, the batch_sizes[t] sequences still running at t
(always a prefix of the sorted batch), as torch's. Packing and unpacking are one gather each,
so gradients flow through them.

    >>> import chainrule as cr
    >>> from chainrule.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence
    >>> x = cr.arange(6.0).reshape(3, 2, 1)          # (T=3, B=2, 1)
    >>> packed = pack_padded_sequence(x, [3, 1])
    >>> packed.batch_sizes.tolist(), packed.data.reshape(-1).tolist()
    ([2, 1, 1], [0.0, 1.0, 2.0, 4.0])
    >>> pad_packed_sequence(packed)[1].tolist()
    [3, 1]
"""

from typing import NamedTuple

import numpy as np

from chainrule.core.backend import xp_of
from chainrule.core.tensor import Tensor, from_array
from chainrule.ops.arithmetic import to_tensor
from chainrule.ops.shape import concatenate, stack


class PackedSequence(NamedTuple):
    """A packed batch (torch's fields): data (sum of lengths, *), batch_sizes (T,) int64, and
    the permutation that sorted the batch by length (None when it was already sorted)."""

    data: Tensor
    batch_sizes: Tensor
    sorted_indices: Tensor = None
    unsorted_indices: Tensor = None


def _lengths(op, lengths):
    if isinstance(lengths, Tensor):
        lengths = lengths.numpy()
    lengths = np.asarray(lengths)
    if lengths.ndim != 1 or (lengths.size and lengths.dtype.kind not in "iu"):
        raise TypeError(f"{op}: lengths must be a 1-D sequence of integers; got "
                        f"{lengths.tolist()!r}")
    return lengths.astype(np.int64)


def _time_major(op, input, batch_first):
    x = to_tensor(input)
    if x.ndim < 2:
        raise ValueError(f"{op}: input must have at least 2 dimensions ((T, B, *), or (B, T, *) "
                         f"with batch_first=True); got shape {x.shape}")
    return x.transpose(0, 1) if batch_first else x


def pack_padded_sequence(input, lengths, batch_first=False, enforce_sorted=True):
    """Pack a padded batch (T, B, *) ((B, T, *) with batch_first) of sequences of `lengths`."""
    x = _time_major("pack_padded_sequence", input, batch_first)
    lengths = _lengths("pack_padded_sequence", lengths)
    T, B = x.shape[0], x.shape[1]
    axis = f"dim {0 if batch_first else 1} of input {to_tensor(input).shape} with " \
        f"batch_first={batch_first}"
    if lengths.size != B:
        raise ValueError(f"pack_padded_sequence: got {lengths.size} lengths for a batch of {B} "
                         f"({axis})")
    if B and (lengths.min() < 1 or lengths.max() > T):
        raise ValueError(f"pack_padded_sequence: lengths must be in [1, {T}] (the sequence "
                         f"length is dim {1 if batch_first else 0} of input "
                         f"{to_tensor(input).shape} with batch_first={batch_first}); got "
                         f"{lengths.tolist()}")
    if enforce_sorted:
        if np.any(np.diff(lengths) > 0):
            raise ValueError(f"pack_padded_sequence: lengths must be sorted in decreasing order "
                             f"with enforce_sorted=True; got {lengths.tolist()} (sort the batch, "
                             "or pass enforce_sorted=False)")
        order = np.arange(B)
        sorted_indices = unsorted_indices = None
    else:
        order = np.argsort(-lengths, kind="stable")
        sorted_indices = from_array(order.astype(np.int64))
        unsorted_indices = from_array(np.argsort(order).astype(np.int64))
    sorted_lengths = lengths[order]
    batch_sizes = (sorted_lengths[None, :] > np.arange(sorted_lengths[0] if B else 0)[:, None]
                   ).sum(1)
    # row t B + order[b] of the (T B, *) input, for each running sequence b of each step t
    rows = np.concatenate([t * B + order[:n] for t, n in enumerate(batch_sizes)]) if B else \
        np.zeros(0, np.int64)
    data = x.reshape((T * B,) + tuple(x.shape[2:]))[from_array(rows.astype(np.int64))]
    return PackedSequence(data, from_array(batch_sizes.astype(np.int64)), sorted_indices,
                          unsorted_indices)


def pad_packed_sequence(sequence, batch_first=False, padding_value=0.0, total_length=None):
    """(padded (T, B, *) in the original batch order, lengths): the inverse of packing."""
    data, batch_sizes, _, unsorted = sequence
    sizes = batch_sizes.numpy().astype(np.int64)
    T, B = len(sizes), int(sizes[0]) if len(sizes) else 0
    if total_length is not None:
        if total_length < T:
            raise ValueError(f"pad_packed_sequence: total_length={total_length} is less than "
                             f"the longest sequence's length {T}")
        T_out = int(total_length)
    else:
        T_out = T
    position = np.arange(B) if unsorted is None else unsorted.numpy()  # sorted slot of each
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
    lengths_sorted = (sizes[None, :] > np.arange(B)[:, None]).sum(1)
    n = data.shape[0]
    # row of data (or n, a padding row) for each (t, b) of the padded output
    rows = np.full((T_out, B), n, dtype=np.int64)
    for t in range(T):
        running = position < sizes[t]
        rows[t, running] = starts[t] + position[running]
    pad = from_array(xp_of(data).full((1,) + tuple(data.shape[1:]), padding_value,
                                      dtype=data.dtype))
    padded = concatenate([data, pad], 0)[from_array(rows.reshape(-1))]
    padded = padded.reshape((T_out, B) + tuple(data.shape[1:]))
    lengths = from_array(lengths_sorted[position].astype(np.int64))
    return (padded.transpose(0, 1) if batch_first else padded), lengths


def pad_sequence(sequences, batch_first=False, padding_value=0.0, padding_side="right"):
    """Stack sequences (L_i, *) into (T, B, *) ((B, T, *) with batch_first), T = max L_i."""
    if padding_side not in ("right", "left"):
        raise ValueError(f"pad_sequence: padding_side must be 'right' or 'left'; got "
                         f"{padding_side!r}")
    seqs = [to_tensor(s) for s in sequences]
    if not seqs:
        raise ValueError("pad_sequence: needs at least one sequence")
    trailing = {tuple(s.shape[1:]) for s in seqs}
    if any(s.ndim == 0 for s in seqs) or len(trailing) != 1:
        raise ValueError(f"pad_sequence: sequences must be (L_i, *) with the same trailing "
                         f"dimensions; got shapes {[tuple(s.shape) for s in seqs]}")
    T = max(s.shape[0] for s in seqs)
    out = []
    for s in seqs:
        missing = T - s.shape[0]
        if missing:
            fill = from_array(xp_of(s).full((missing,) + tuple(s.shape[1:]), padding_value,
                                            dtype=s.dtype))
            s = concatenate([s, fill] if padding_side == "right" else [fill, s], 0)
        out.append(s)
    return stack(out, 0 if batch_first else 1)


def unpad_sequence(padded_sequences, lengths, batch_first=False):
    """The list of sequences padded_sequences[:L_i, i] (the inverse of pad_sequence)."""
    x = _time_major("unpad_sequence", padded_sequences, batch_first)
    lengths = _lengths("unpad_sequence", lengths)
    return [x[:int(n), i] for i, n in enumerate(lengths)]


def pack_sequence(sequences, enforce_sorted=True):
    """Pack a list of sequences (L_i, *) (pad_sequence, then pack_padded_sequence)."""
    lengths = [to_tensor(s).shape[0] for s in sequences]
    return pack_padded_sequence(pad_sequence(sequences), lengths, enforce_sorted=enforce_sorted)


def unpack_sequence(packed_sequences):
    """The list of sequences of a PackedSequence, in the original order."""
    padded, lengths = pad_packed_sequence(packed_sequences)
    return unpad_sequence(padded, lengths)

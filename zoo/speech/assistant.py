"""``zoo assistant``: hear a wake word in a recording, take the command said after it, print its intent and slots.

    python -m zoo samples --task speech --problem intent --output samples/intent     # writes assistant.wav
    python -m zoo assistant --wake runs/kws --intent runs/intent samples/intent/assistant.wav
    python -m zoo assistant --wake runs/kws --intent runs/intent --device cuda long.wav other.flac

This is the pipeline a voice assistant runs: the keyword model listens to the whole recording (see
:mod:`zoo.speech.stream`); after each detection an energy detector (two thresholds, see :func:`command_span`)
finds the wake word's end and the speech that follows it, up to a pause of ``pause_ms`` or ``max_command_s``, and
the intent model reads that command. Each command is one JSON line: the input, the wake word's detection time and
score, the command's start and end (seconds), the intent, its slots and the intent model's confidence.

The command needs a short pause after the wake word (a tenth of a second is enough), as assistants expect.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from typing import Any


def add_parser(commands: Any) -> None:
    """The ``assistant`` subcommand's arguments (no torch import)."""
    parser = commands.add_parser("assistant", help="hear a wake word, then print the intent of the command after it",
                                 description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("inputs", nargs="+", metavar="RECORDING", help="long recordings (WAV, FLAC, ...)")
    parser.add_argument("--wake", required=True, help="a keyword model's run or checkpoint (listens for the wake word)")
    parser.add_argument("--intent", required=True, help="a spoken-intent model's run or checkpoint")
    parser.add_argument("--wake-word", default="", help="the keyword class to listen for (default: 'stop', the "
                        "embedded sets' wake word)")
    parser.add_argument("--threshold", type=float, default=0.8, help="smoothed wake-word probability that fires")
    parser.add_argument("--max-command-s", type=float, default=5.0, help="longest command after the wake word")
    parser.add_argument("--pause-ms", type=float, default=600.0, help="a pause this long ends the command")
    parser.add_argument("--device", help="cpu, cuda, cuda:N")


def run(args: argparse.Namespace) -> int:
    for record in assistant(args.wake, args.intent, args.inputs, wake_word=args.wake_word, threshold=args.threshold,
                            max_command_s=args.max_command_s, pause_ms=args.pause_ms, device=args.device):
        print(json.dumps(record), flush=True)
    return 0


def assistant(wake: str, intent: str, inputs: list[str], wake_word: str = "", threshold: float = 0.8,
              max_command_s: float = 5.0, pause_ms: float = 600.0, device: str | None = None) -> list[dict[str, Any]]:
    """One record per command heard in ``inputs``, in order (see the module's docstring)."""
    import torch

    from zoo.api import load
    from zoo.errors import ConfigError
    from zoo.runtime import cpu_threads, select_device
    from zoo.speech.audio import fix_length, load_audio, resample
    from zoo.speech.embedded import WAKE_WORD
    from zoo.speech.stream import StreamSettings
    from zoo.speech.task import listen, wake_index

    if max_command_s <= 0 or pause_ms <= 0:
        raise ConfigError("--max-command-s and --pause-ms must be positive")
    listener, reader = load(wake, device), load(intent, device)
    for loaded, problem, flag in ((listener, "keywords", "--wake"), (reader, "intent", "--intent")):
        if loaded.meta["info"].get("problem") != problem:
            raise ConfigError(f"{flag} {loaded.path} holds a model for {loaded.meta['info'].get('problem')}, not for "
                              f"{problem}")
    wake_info, intent_info = listener.meta["info"], reader.meta["info"]
    word = wake_word or WAKE_WORD
    index = wake_index(wake_info, word)
    settings = StreamSettings(threshold=threshold)
    rate = wake_info["sample_rate"]
    wake_device = select_device(listener.config.trainer.device)

    @torch.no_grad()
    def wake_score(clips: list[Any]) -> list[float]:
        batch = torch.stack([fix_length(clip, wake_info["clip_samples"]) for clip in clips]).to(wake_device)
        lengths = torch.full((len(clips),), batch.shape[1], device=wake_device)
        return listener.model(batch, lengths).float().softmax(-1)[:, index].tolist()

    records = []
    with cpu_threads(listener.config.trainer.threads):
        for path in inputs:
            wave = load_audio(path, rate)
            for detection in listen(listener.model, wave, wake_info, index, settings, wake_device):
                start, end = command_span(wave, rate, detection["time"], max_command_s, pause_ms / 1000, wake_score)
                record = {"input": str(path), "wake_word": word, "wake": detection,
                          "start": round(start / rate, 3), "end": round(end / rate, 3)}
                if end - start < rate // 10:
                    records.append({**record, "intent": None, "slots": None, "confidence": 0.0})
                    continue
                command = resample(wave[start:end], rate, intent_info["sample_rate"])
                [result] = reader.task.classify(reader.model, [command], intent_info,
                                                select_device(reader.config.trainer.device))
                records.append({**record, **result})
    return records


HIGH, LOW = 0.5, 0.35
# Silences of at most this many 10 ms frames lie inside a word (the closure of a stop, as between the s and t of
# "stop"); the pause a command needs after the wake word is longer (0.1 s at least).
INSIDE_WORD_GAP = 7


def _speech(level: Any, high: float, low: float) -> list[bool]:
    """Frames of speech by two thresholds (hysteresis): a run starts above ``high`` and reaches out to the frames
    above ``low`` around it, so that background noise with bursts (babble) stays out and weak phones at the edges
    of words stay in."""
    loud, active = (level > high).tolist(), (level > low).tolist()
    speech = list(loud)
    for order in (range(len(speech)), range(len(speech) - 1, -1, -1)):
        previous = None
        for i in order:
            if previous is not None and speech[previous] and active[i]:
                speech[i] = True
            previous = i
    return speech


def _words(runs: list[tuple[int, int]], shortest: int = 8, closure: int = 10) -> list[tuple[int, int]]:
    """Runs (10 ms frames) with each run shorter than any word (``shortest``: the burst of a word's final stop, as
    in "right") joined to the run before it when it follows within a stop's ``closure``."""
    out: list[tuple[int, int]] = []
    for start, end in runs:
        if out and end - start < shortest and start - out[-1][1] <= closure:
            out[-1] = (out[-1][0], end)
        else:
            out.append((start, end))
    return out


def command_span(wave: Any, rate: int, heard_s: float, max_command_s: float, pause_s: float,
                 wake_score: Callable[[list[Any]], list[float]], window: int | None = None) -> tuple[int, int]:
    """Sample range of the speech after the wake word heard at ``heard_s``.

    An energy detector cuts the surroundings into runs of speech; of the runs within half a second of ``heard_s``,
    the wake word is the one the keyword model (``wake_score`` of a ``window``-long clip centred on each run, 1 s by
    default) is surest of, and the command is the runs after it until a pause longer than ``pause_s``.
    """
    window = window or rate
    import torch

    from zoo.speech.folders import _runs

    frame = rate // 100
    first = max(0, int((heard_s - 1.5) * rate)) // frame * frame
    last = min(len(wave), int((heard_s + max_command_s + 1.5) * rate))
    frames = wave[first : first + (last - first) // frame * frame].reshape(-1, frame)
    if len(frames) == 0:
        return 0, 0
    level = 10 * torch.log10(frames.square().mean(dim=1) + 1e-10)
    floor, peak = torch.quantile(level, 0.1).item(), torch.quantile(level, 0.99).item()
    runs = _words(_runs(_speech(level, floor + HIGH * (peak - floor), floor + LOW * (peak - floor)),
                        join=INSIDE_WORD_GAP, shortest=4))
    heard = (heard_s * rate - first) / frame
    near = [i for i, (s, e) in enumerate(runs) if s <= heard + 50 and e >= heard - 50]
    if not near:
        return 0, 0
    # Each run is scored in a window of the recording centred on it, as the stream detector sees words: with the
    # sound around it (an isolated, zero-padded run is nothing the keyword model heard in training).
    centres = [first + (runs[i][0] + runs[i][1]) * frame // 2 for i in near]
    scores = wake_score([wave[max(0, c - window // 2) : c + window // 2] for c in centres])
    following = runs[near[max(range(len(near)), key=scores.__getitem__)] + 1 :]
    if not following:
        return 0, 0
    start, end = following[0]
    for s, e in following[1:]:
        if s - end > pause_s * 100:
            break
        end = e
    end = min(end, start + int(max_command_s * 100))
    pad = 3  # 30 ms either side
    return first + max(0, start - pad) * frame, first + min(len(frames), end + pad) * frame

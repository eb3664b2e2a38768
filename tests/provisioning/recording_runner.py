from collections.abc import Sequence

from provisioning.runner import Completed


class RecordingRunner:
    """Records commands; answers from a table keyed by the command's first words, default success."""

    def __init__(self, answers: dict[tuple[str, ...], Completed] | None = None) -> None:
        self.calls: list[list[str]] = []
        self.answers = answers or {}

    def __call__(self, argv: Sequence[str]) -> Completed:
        self.calls.append(list(argv))
        for n in range(len(argv), 0, -1):
            hit = self.answers.get(tuple(argv[:n]))
            if hit is not None:
                return hit
        return Completed(0, "")

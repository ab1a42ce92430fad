"""Uploaded campaign files kept between the diff and the confirmation (``campaign.uploads``,
folder ``campaign-files``): the confirmation applies the very file whose diff was shown."""

from __future__ import annotations

from dataclasses import dataclass

from campaign import uploads

KIND = "campaign-files"
#: The largest campaign file accepted (the example is about 30 KB).
MAX_BYTES = 1024 * 1024


@dataclass(frozen=True)
class Upload:
    key: str
    filename: str
    text: str


def display_name(filename: str | None) -> str:
    return uploads.display_name(filename, "campagnebestand.yaml")


def keep_upload(filename: str, text: str) -> Upload:
    kept = uploads.keep(KIND, display_name(filename), text.encode("utf-8"))
    return Upload(kept.key, kept.filename, text)


def read_upload(key: str) -> Upload | None:
    kept = uploads.read(KIND, key)
    if kept is None:
        return None
    return Upload(kept.key, kept.filename, kept.data.decode("utf-8"))


def forget_upload(key: str) -> None:
    uploads.forget(KIND, key)

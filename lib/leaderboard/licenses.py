"""mteb's licence strings grouped by what they let a team do with the model.

mteb's ``ModelMeta.license`` is free text: SPDX-like ids (``apache-2.0``), ``not
specified``, NULL, or a URL to a custom licence. A chooser needs the *use* it allows, so
every string seen in mteb 2.26's registry is mapped below with the reason. Choices:

* ``open_weights`` false wins: a closed model is used through its vendor's API under
  the vendor's terms, whatever licence string mteb records (mteb lists ``mit`` for
  ``mongodb/voyage-multimodal-3``, whose weights are not published) → ``proprietary API``.
* NULL, ``not specified`` and ``multiple`` → ``unknown``: no licence is no permission.
* Custom licences (URLs) that we could not pin to one of the groups from their well-known
  terms → ``custom terms``: they often allow commercial use *with conditions* (revenue
  caps, use policies), so they are kept out of "commercial use OK" until a human reads
  them. This sixth group is deliberate: folding them into permissive would overstate what
  is allowed, folding them into unknown would hide that a licence exists.
* "Commercial use OK" = ``permissive`` + ``proprietary API`` (a paid API licenses
  commercial use by contract; read the vendor's terms for data handling).

A licence string not in the table (a newer mteb) is classified by :func:`classify` with
conservative pattern rules (``-nc`` → non-commercial, ``gpl``/``-sa`` → copyleft, a URL →
custom terms, anything else → unknown).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

PERMISSIVE = "permissive"
COPYLEFT = "copyleft"
NON_COMMERCIAL = "non-commercial"
CUSTOM = "custom terms"
PROPRIETARY_API = "proprietary API"
UNKNOWN = "unknown"

#: Display order of the groups.
GROUPS: tuple[str, ...] = (PERMISSIVE, COPYLEFT, NON_COMMERCIAL, CUSTOM, PROPRIETARY_API, UNKNOWN)
#: Groups the "commercial use OK" switch keeps.
COMMERCIAL_OK: frozenset[str] = frozenset({PERMISSIVE, PROPRIETARY_API})
COMMERCIAL_NOTE = (
    "Commercial use OK = permissive licences (Apache-2.0, MIT, BSD, CC-BY, OpenMDW) and "
    "closed models used through a paid API (commercial use by contract; check the vendor's "
    "data terms). Copyleft, non-commercial, custom and unknown licences are left out."
)
GROUP_HELP: dict[str, str] = {
    PERMISSIVE: "Use, modify and sell freely with attribution (Apache-2.0, MIT, BSD, CC-BY, OpenMDW).",
    COPYLEFT: "Commercial use allowed, but derivatives must be shared under the same licence (GPL, CC-BY-SA).",
    NON_COMMERCIAL: "Research / non-commercial use only (CC-BY-NC, NVIDIA non-commercial, Sarashina NC).",
    CUSTOM: "A model-specific licence (URL): often commercial with conditions. Read it before use.",
    PROPRIETARY_API: "Weights not published; used through the vendor's paid API under its terms.",
    UNKNOWN: "mteb records no licence ('not specified' or missing): no licence is no permission.",
}


@dataclass(frozen=True)
class LicenseInfo:
    """The use group of one licence string.

    Attributes:
        license: mteb's string (None when missing).
        group: One of :data:`GROUPS`.
        reason: Why it is in that group.
    """

    license: str | None
    group: str
    reason: str

    @property
    def commercial_ok(self) -> bool:
        """Whether the "commercial use OK" switch keeps this licence."""
        return self.group in COMMERCIAL_OK


# Every licence string in mteb 2.26.24's registry (``SELECT license, count(*) FROM models``).
_TABLE: dict[str, tuple[str, str]] = {
    "apache-2.0": (PERMISSIVE, "Apache-2.0: permissive, patent grant"),
    "mit": (PERMISSIVE, "MIT: permissive"),
    "bsd-3-clause": (PERMISSIVE, "BSD-3-Clause: permissive"),
    "bsd-2-clause": (PERMISSIVE, "BSD-2-Clause: permissive"),
    "cc-by-4.0": (PERMISSIVE, "CC-BY-4.0: any use with attribution"),
    "cc0-1.0": (PERMISSIVE, "CC0: public domain dedication"),
    "openmdw-1.1": (PERMISSIVE, "OpenMDW 1.1 (Linux Foundation open model licence): permissive"),
    "openrail": (CUSTOM, "OpenRAIL: commercial use allowed under use-based restrictions"),
    "cc-by-sa-4.0": (COPYLEFT, "CC-BY-SA-4.0: share-alike"),
    "gpl-3.0": (COPYLEFT, "GPL-3.0: strong copyleft"),
    "agpl-3.0": (COPYLEFT, "AGPL-3.0: copyleft including network use"),
    "lgpl-3.0": (COPYLEFT, "LGPL-3.0: weak copyleft"),
    "mpl-2.0": (COPYLEFT, "MPL-2.0: file-level copyleft"),
    "cc-by-nc-4.0": (NON_COMMERCIAL, "CC-BY-NC-4.0: non-commercial only"),
    "cc-by-nc-sa-4.0": (NON_COMMERCIAL, "CC-BY-NC-SA-4.0: non-commercial, share-alike"),
    "cc-by-nc-nd-4.0": (NON_COMMERCIAL, "CC-BY-NC-ND-4.0: non-commercial, no derivatives"),
    "gemma": (CUSTOM, "Gemma Terms of Use: commercial use allowed under Google's prohibited-use policy"),
    "https://ai.google.dev/gemma/terms": (
        CUSTOM,
        "Gemma Terms of Use: commercial use allowed under Google's prohibited-use policy",
    ),
    "not specified": (UNKNOWN, "mteb says 'not specified'"),
    "multiple": (UNKNOWN, "mteb says 'multiple' (per-component licences; check each)"),
    "https://github.com/NVlabs/RADIO/blob/main/LICENSE": (
        NON_COMMERCIAL,
        "NVIDIA Source Code License-NC (RADIO): non-commercial",
    ),
    "https://huggingface.co/sbintuitions/sarashina-embedding-v1-1b/blob/main/LICENSE": (
        NON_COMMERCIAL,
        "Sarashina Model NonCommercial License",
    ),
    "https://huggingface.co/sbintuitions/sarashina-embedding-v2-1b/blob/main/LICENSE": (
        NON_COMMERCIAL,
        "Sarashina Model NonCommercial License",
    ),
    "https://www.nvidia.com/en-us/agreements/enterprise-software/nvidia-open-model-license/": (
        CUSTOM,
        "NVIDIA Open Model License: commercial use allowed with NVIDIA's conditions",
    ),
    "https://huggingface.co/spaces/bigscience/license": (
        CUSTOM,
        "BigScience RAIL: commercial use allowed under use-based restrictions",
    ),
    "https://aws.amazon.com/service-terms/": (PROPRIETARY_API, "AWS service terms: a paid API"),
}


def classify(license: str | None, open_weights: bool | None = True) -> LicenseInfo:
    """The use group of a model's licence.

    Args:
        license: mteb's ``ModelMeta.license`` (None when missing).
        open_weights: mteb's ``ModelMeta.open_weights``; False means a closed API model.

    Returns:
        The group and the reason.
    """
    if open_weights is False:
        return LicenseInfo(license, PROPRIETARY_API, "weights not published: used through the vendor's API")
    if license is None or not str(license).strip():
        return LicenseInfo(None, UNKNOWN, "no licence recorded in mteb")
    key = str(license).strip()
    hit = _TABLE.get(key) or _TABLE.get(key.lower())
    if hit is not None:
        return LicenseInfo(license, hit[0], hit[1])
    low = key.lower()
    # Conservative rules for strings a newer mteb may add.
    if re.search(r"(^|[-_/ ])nc([-_/ .]|$)|non-?commercial", low):
        return LicenseInfo(license, NON_COMMERCIAL, "non-commercial marker in the licence name")
    if re.search(r"gpl|(^|-)sa(-|$)", low):
        return LicenseInfo(license, COPYLEFT, "copyleft marker in the licence name")
    if low.startswith(("http://", "https://")):
        return LicenseInfo(license, CUSTOM, "a model-specific licence at this URL: read it")
    if low in {"bsd", "isc", "unlicense", "zlib", "cc-by-3.0", "cc-by-2.0"}:
        return LicenseInfo(license, PERMISSIVE, "permissive licence family")
    return LicenseInfo(license, UNKNOWN, "licence string not recognised")


def short_label(license: str | None) -> str:
    """A short display form of a licence string (URLs shortened to their host/path tail).

    Args:
        license: mteb's string.

    Returns:
        E.g. ``apache-2.0``, ``custom (huggingface.co/…/LICENSE)``, or ``—``.
    """
    if license is None or not str(license).strip():
        return "—"
    s = str(license).strip()
    if s.startswith(("http://", "https://")):
        rest = s.split("://", 1)[1]
        parts = [p for p in rest.split("/") if p]
        host = parts[0].removeprefix("www.")
        if len(parts) >= 3 and host == "huggingface.co":
            return f"custom ({parts[1]}/{parts[2]})"
        return f"custom ({host})"
    return s

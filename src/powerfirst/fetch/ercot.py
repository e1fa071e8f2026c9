"""ERCOT Public API (api.ercot.com): real-time and day-ahead settlement point prices, system load.

The API needs a free account at https://apiexplorer.ercot.com: a **subscription key** (sent as
``Ocp-Apim-Subscription-Key``) and a username and password, exchanged for an ID token (sent as
``Authorization: Bearer …``, valid about an hour) at ERCOT's Azure B2C token endpoint.

Every report answers ``GET /api/public-reports/<report>/<endpoint>?<filters>&page=N&size=M`` with
JSON ``{"_meta": {"totalRecords", "pageSize", "totalPages", "currentPage"}, "report": {…},
"fields": [{"name": …, "label": …, …}], "data": [[value per field], …]}``. Reports used:

==========================================  ======================================  ===================
report                                      fields read                             written as
==========================================  ======================================  ===================
NP6-905-CD ``spp_node_zone_hub``            deliveryDate, deliveryHour,             15-min hub prices
(real-time SPP, 15 min)                     deliveryInterval, settlementPoint,      (bundled RT layout)
                                            settlementPointPrice, DSTFlag
NP4-190-CD ``dam_stlmnt_pnt_prices``        deliveryDate, hourEnding,               hourly hub and load
(day-ahead SPP)                             settlementPoint, settlementPointPrice,  zone prices
                                            DSTFlag
NP6-345-CD ``act_sys_load_by_wzn``          operatingDay, hourEnding, coast, east,  hourly load by
(actual system load by weather zone)        farWest, north, northC, southern,       weather zone [MW]
                                            southC, west, total, DSTFlag
==========================================  ======================================  ===================

Times are ERCOT's hour-ending local clock with the DST flag (:mod:`powerfirst.fetch.ercot_time`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

import pandas as pd

from powerfirst.errors import ConfigError, DataError
from powerfirst.fetch.ercot_time import ERCOT_TZ, interval_start_utc
from powerfirst.fetch.http import HttpClient, HttpStatusError

__all__ = [
    "API_BASE",
    "DA_POINTS",
    "LOAD_COLUMNS",
    "RT_HUBS",
    "TOKEN_URL",
    "ErcotApi",
    "ErcotCredentials",
    "date_chunks",
]

API_BASE = "https://api.ercot.com/api/public-reports"
TOKEN_URL = "https://ercotb2c.b2clogin.com/ercotb2c.onmicrosoft.com/B2C_1_PUBAPI-ROPC-FLOW/oauth2/v2.0/token"
CLIENT_ID = "fec253ea-0d06-4272-a5e6-b478baeecd70"
"""ERCOT's public client id for the password (ROPC) flow, from ERCOT's API user guide."""

RT_HUBS = ("HB_BUSAVG", "HB_HOUSTON", "HB_HUBAVG", "HB_NORTH", "HB_PAN", "HB_SOUTH", "HB_WEST")
"""Columns of the bundled real-time file, in its order."""
DA_POINTS = (
    *RT_HUBS,
    *("LZ_AEN", "LZ_CPS", "LZ_HOUSTON", "LZ_LCRA", "LZ_NORTH", "LZ_RAYBN", "LZ_SOUTH", "LZ_WEST"),
)
"""Columns of the bundled day-ahead file, in its order."""
LOAD_COLUMNS = {
    "coast": "COAST",
    "east": "EAST",
    "farWest": "FWEST",
    "north": "NORTH",
    "northC": "NCENT",
    "southern": "SOUTH",
    "southC": "SCENT",
    "west": "WEST",
    "total": "ERCOT",
}
"""API field → column of the bundled load file (weather zones, then the ERCOT total) [MW]."""

PAGE_SIZE = 10_000
MAX_PAGES = 1_000
CHUNK_DAYS = 31


@dataclass(frozen=True)
class ErcotCredentials:
    """What the ERCOT Public API asks for; never printed."""

    subscription_key: str
    username: str
    password: str

    def __repr__(self) -> str:
        return "ErcotCredentials(…)"


def date_chunks(first: date, last: date, days: int = CHUNK_DAYS) -> Iterator[tuple[date, date]]:
    """[first, last] (both included) cut into runs of at most ``days`` days."""
    start = first
    while start <= last:
        end = min(last, start + timedelta(days=days - 1))
        yield start, end
        start = end + timedelta(days=1)


class ErcotApi:
    """Pages through ERCOT Public API reports and returns frames in the bundled layouts."""

    def __init__(
        self,
        http: HttpClient,
        credentials: ErcotCredentials,
        *,
        base_url: str = API_BASE,
        page_size: int = PAGE_SIZE,
    ) -> None:
        for name in ("subscription_key", "username", "password"):
            if not getattr(credentials, name):
                raise ConfigError(f"ERCOT Public API {name.replace('_', ' ')} is empty")
        self.http = http
        self.credentials = credentials
        self.base_url = base_url.rstrip("/")
        self.page_size = page_size
        self._token: str | None = None

    def _id_token(self) -> str:
        if self._token is None:
            answer = self.http.post_form_json(
                TOKEN_URL,
                data={
                    "username": self.credentials.username,
                    "password": self.credentials.password,
                    "grant_type": "password",
                    "scope": f"openid {CLIENT_ID} offline_access",
                    "client_id": CLIENT_ID,
                    "response_type": "id_token",
                },
            )
            token = answer.get("id_token") if isinstance(answer, dict) else None
            if not isinstance(token, str) or not token:
                raise DataError(
                    f"POST {TOKEN_URL}: the answer has no id_token (check the username and password)"
                )
            self._token = token
        return self._token

    def report(self, path: str, params: dict[str, str]) -> pd.DataFrame:
        """Every row of one report query, all pages, as strings keyed by the API's field names."""
        url = f"{self.base_url}/{path}"
        frames: list[pd.DataFrame] = []
        page, pages = 1, 1
        while page <= pages:
            if page > MAX_PAGES:
                raise DataError(
                    f"GET {url}: more than {MAX_PAGES} pages of {self.page_size} rows; ask for fewer days"
                )
            answer = self._get(url, {**params, "page": page, "size": self.page_size})
            frame, pages = _page(answer, url)
            frames.append(frame)
            page += 1
        return pd.concat(frames, ignore_index=True)

    def _get(self, url: str, params: dict[str, str | int]) -> object:
        """One authorised GET; on 401 (the ID token lasts about an hour) a new token, once."""
        for fresh in (False, True):
            if fresh:
                self._token = None
            headers = {
                "Ocp-Apim-Subscription-Key": self.credentials.subscription_key,
                "Authorization": f"Bearer {self._id_token()}",
            }
            try:
                return self.http.get_json(url, params=params, headers=headers)
            except HttpStatusError as exc:
                if exc.status != 401 or fresh:
                    raise
        raise AssertionError("unreachable")

    def _per_point(
        self,
        endpoint: str,
        points: Sequence[str],
        first: date,
        last: date,
        on_chunk: Callable[[], None] | None,
    ) -> pd.DataFrame:
        """Every row of ``endpoint`` for each settlement point and delivery days first…last."""
        rows = []
        for point in points:
            for lo, hi in date_chunks(first, last):
                params = {
                    "deliveryDateFrom": lo.isoformat(),
                    "deliveryDateTo": hi.isoformat(),
                    "settlementPoint": point,
                }
                rows.append(self.report(endpoint, params))
                if on_chunk:
                    on_chunk()
        return pd.concat(rows, ignore_index=True)

    def real_time_hub_prices(
        self, first: date, last: date, *, on_chunk: Callable[[], None] | None = None
    ) -> pd.DataFrame:
        """15-minute real-time hub SPPs [USD/MWh] for ERCOT operating days first…last (local, both included)."""
        raw = self._per_point("np6-905-cd/spp_node_zone_hub", RT_HUBS, first, last, on_chunk)
        _need(
            raw,
            (
                "deliveryDate",
                "deliveryHour",
                "deliveryInterval",
                "settlementPoint",
                "settlementPointPrice",
                "DSTFlag",
            ),
            "NP6-905-CD",
        )
        starts = interval_start_utc(
            raw["deliveryDate"], raw["deliveryHour"], raw["DSTFlag"], raw["deliveryInterval"]
        )
        return _wide(starts, raw["settlementPoint"], raw["settlementPointPrice"], RT_HUBS, "NP6-905-CD")

    def day_ahead_prices(
        self, first: date, last: date, *, on_chunk: Callable[[], None] | None = None
    ) -> pd.DataFrame:
        """Hourly day-ahead hub and load-zone SPPs [USD/MWh] for delivery days first…last (local)."""
        raw = self._per_point("np4-190-cd/dam_stlmnt_pnt_prices", DA_POINTS, first, last, on_chunk)
        _need(
            raw,
            ("deliveryDate", "hourEnding", "settlementPoint", "settlementPointPrice", "DSTFlag"),
            "NP4-190-CD",
        )
        starts = interval_start_utc(raw["deliveryDate"], raw["hourEnding"], raw["DSTFlag"])
        return _wide(starts, raw["settlementPoint"], raw["settlementPointPrice"], DA_POINTS, "NP4-190-CD")

    def system_load(
        self, first: date, last: date, *, on_chunk: Callable[[], None] | None = None
    ) -> pd.DataFrame:
        """Hourly actual system load by weather zone and the ERCOT total [MW] for operating days first…last."""
        rows = []
        for lo, hi in date_chunks(first, last):
            rows.append(
                self.report(
                    "np6-345-cd/act_sys_load_by_wzn",
                    {"operatingDayFrom": lo.isoformat(), "operatingDayTo": hi.isoformat()},
                )
            )
            if on_chunk:
                on_chunk()
        raw = pd.concat(rows, ignore_index=True)
        _need(raw, ("operatingDay", "hourEnding", "DSTFlag", *LOAD_COLUMNS), "NP6-345-CD")
        starts = interval_start_utc(raw["operatingDay"], raw["hourEnding"], raw["DSTFlag"])
        frame = pd.DataFrame(
            {column: _numbers(raw[field], f"NP6-345-CD {field}") for field, column in LOAD_COLUMNS.items()}
        )
        frame.index = pd.DatetimeIndex(starts, name="interval_start_utc")
        _no_repeats(frame.index, "NP6-345-CD")
        return frame.sort_index()

    def calls(self, first: date, last: date, dataset: str) -> int:
        """How many report queries a dataset takes (for a progress bar)."""
        chunks = len(list(date_chunks(first, last)))
        points = {"ercot-rt": len(RT_HUBS), "ercot-da": len(DA_POINTS), "ercot-load": 1}[dataset]
        return chunks * points


def local_days(first: date, last: date) -> tuple[pd.Timestamp, pd.Timestamp]:
    """UTC start and end (exclusive) of ERCOT operating days first…last."""
    start = pd.Timestamp(first).tz_localize(ERCOT_TZ).tz_convert("UTC")
    end = pd.Timestamp(last + timedelta(days=1)).tz_localize(ERCOT_TZ).tz_convert("UTC")
    return start, end


def _page(answer: object, url: str) -> tuple[pd.DataFrame, int]:
    if not isinstance(answer, dict) or not isinstance(answer.get("fields"), list) or "data" not in answer:
        raise DataError(f"GET {url}: the answer is not an ERCOT report (no 'fields' and 'data')")
    names = [str(field.get("name")) for field in answer["fields"] if isinstance(field, dict)]
    data = answer["data"] or []
    if any(not isinstance(row, list) or len(row) != len(names) for row in data):
        raise DataError(f"GET {url}: a data row does not have one value per field ({len(names)} fields)")
    meta = answer.get("_meta") or {}
    pages = int(meta.get("totalPages") or 1)
    return pd.DataFrame(data, columns=names, dtype=object).astype(str), pages


def _need(raw: pd.DataFrame, fields: Sequence[str], report: str) -> None:
    if raw.empty:
        raise DataError(
            f"ERCOT {report}: no rows for these days (not published yet, or older than the API keeps)"
        )
    missing = [field for field in fields if field not in raw.columns]
    if missing:
        raise DataError(
            f"ERCOT {report}: the answer lacks field(s) {', '.join(missing)}; fields: {', '.join(raw.columns)}"
        )


def _numbers(values: pd.Series, what: str) -> pd.Series:
    numbers = pd.to_numeric(values, errors="coerce")
    if numbers.isna().any():
        raise DataError(f"ERCOT {what} = {values[numbers.isna()].iloc[0]!r} is not a number")
    return pd.Series(numbers.to_numpy(dtype="float64"), index=values.index)


def _no_repeats(index: pd.DatetimeIndex, report: str) -> None:
    if index.has_duplicates:
        first = index[index.duplicated()][0]
        raise DataError(f"ERCOT {report}: interval starting {first.isoformat()} is reported twice")


def _wide(
    starts: pd.DatetimeIndex, point: pd.Series, price: pd.Series, columns: Sequence[str], report: str
) -> pd.DataFrame:
    long = pd.DataFrame(
        {
            "interval_start_utc": starts,
            "point": point.to_numpy(),
            "price": _numbers(price, f"{report} settlementPointPrice").to_numpy(),
        }
    )
    long = long[long["point"].isin(columns)]
    repeated = long.duplicated(["interval_start_utc", "point"])
    if repeated.any():
        row = long[repeated].iloc[0]
        raise DataError(
            f"ERCOT {report}: {row['point']} at {row['interval_start_utc'].isoformat()} is reported twice"
        )
    wide = long.pivot(index="interval_start_utc", columns="point", values="price")
    wide = wide.reindex(columns=list(columns))
    wide.columns.name = None
    return wide.sort_index()

"""When the Customer Support Team is open, and when a ticket's answer is due.

The SLA: Monday to Friday 09:00-17:30 (Europe/Amsterdam), closed on national holidays
("m.u.v. nationale feestdagen"); technical questions are answered within 3 working days,
administrative ones within 7 days, Managed Hosting within its guaranteed time.

The SLA names no holidays ("nationale feestdagen"), so which ones close support is a setting,
SUPPORT_CLOSED_HOLIDAYS: keys of CLOSING_HOLIDAYS below. The dates come from the ``holidays``
package (public category of NL), as verified with holidays 0.109. The default,
DEFAULT_CLOSED_HOLIDAYS, is every Dutch public holiday that falls on a weekday: Nieuwjaarsdag,
Goede Vrijdag, Tweede Paasdag, Koningsdag (27 April, 26 April when the 27th is a Sunday),
Bevrijdingsdag only in lustrum years (2025, 2030, ...: the package's rule), Hemelvaartsdag,
Tweede Pinksterdag, Eerste and Tweede Kerstdag. Good Friday and the lustrum rule are company
choices, not the SLA's words: the help articles show the resulting days ({{closed_days}}) and
never type them. ``liberation_day_every_year`` closes on 5 May every year instead. No holiday
moves to a Monday when it falls in a weekend. Other days the team is closed (a company day out)
go in SUPPORT_EXTRA_CLOSED_DAYS.

Open periods are half-open: open at 09:00:00 sharp, closed at 17:30:00 sharp. Times are local
wall-clock times, so opening stays 09:00 on both sides of a DST change; lengths are measured
in real (UTC) time. Every moment given must be timezone-aware; results are in the calendar's
timezone.
"""

from datetime import date, datetime, time, timedelta, timezone
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask_babel import format_date, format_time
from flask_babel import gettext as _

TECHNICAL_WORKING_DAYS = 3
ADMINISTRATIVE_DAYS = 7


@lru_cache(maxsize=64)
def national_holidays(year: int) -> frozenset[date]:
    """Return the Dutch national holidays of one year (cached: the package builds them slowly)."""
    return frozenset(_holidays_package().country_holidays("NL", years=year))


def _holidays_package():
    """Import the holidays package when a date is first asked for, not when a worker starts.

    Importing it costs a worker about 3.5 MiB, and its first country lookup loads every
    country's module (about 8.5 MiB more): a worker that only serves articles and searches
    never needs it. Any page or command that shows or counts support days loads it once.
    """
    import holidays

    return holidays


# Setting key -> the holiday's English name in the holidays package (or None: computed here).
CLOSING_HOLIDAYS = {
    "new_years_day": "New Year's Day",
    "good_friday": "Good Friday",
    "easter_monday": "Easter Monday",
    "kings_day": "King's Day",
    "liberation_day": "Liberation Day",  # the package has it in lustrum years only (2025, 2030, ...)
    "liberation_day_every_year": None,  # 5 May in every year
    "ascension_day": "Ascension Day",
    "whit_monday": "Pentecost Monday",
    "christmas_day": "Christmas Day",
    "second_christmas_day": "Second Day of Christmas",
}
DEFAULT_CLOSED_HOLIDAYS = (
    "new_years_day", "good_friday", "easter_monday", "kings_day", "liberation_day", "ascension_day",
    "whit_monday", "christmas_day", "second_christmas_day",
)
LIBERATION_DAY_NAMES = {"nl": "Bevrijdingsdag", "en": "Liberation Day"}


def closing_holiday_keys(value) -> tuple[str, ...]:
    """Return the SUPPORT_CLOSED_HOLIDAYS setting as a tuple of keys; raise ValueError on an unknown key.

    From the environment it is a comma-separated string; "none" (or an empty list in code) means
    support opens on every holiday.
    """
    if value is None:
        return DEFAULT_CLOSED_HOLIDAYS
    if isinstance(value, str):
        value = [] if value.strip().lower() == "none" else [part.strip() for part in value.split(",") if part.strip()]
    keys = tuple(dict.fromkeys(str(key) for key in value))
    unknown = [key for key in keys if key not in CLOSING_HOLIDAYS]
    if unknown:
        raise ValueError(f"unknown holiday in SUPPORT_CLOSED_HOLIDAYS: {', '.join(unknown)} "
                         f"(known: {', '.join(CLOSING_HOLIDAYS)})")
    return keys


@lru_cache(maxsize=256)
def closing_holidays(year: int, keys: tuple[str, ...]) -> frozenset[date]:
    """Return the days of one year on which these holidays (keys of CLOSING_HOLIDAYS) close support."""
    names = {CLOSING_HOLIDAYS[key] for key in keys if CLOSING_HOLIDAYS[key]}
    days = {day for day, name in holiday_names(year, "en").items() if name in names}
    if "liberation_day_every_year" in keys:
        days.add(date(year, 5, 5))
    return frozenset(days)


@lru_cache(maxsize=64)
def holiday_names(year: int, lang: str) -> dict[date, str]:
    """Return the names of one year's Dutch national holidays in Dutch or English."""
    return dict(_holidays_package().country_holidays("NL", years=year, language="en_US" if lang == "en" else "nl"))


def _require_aware(moment: datetime, name: str = "moment") -> None:
    if not isinstance(moment, datetime):
        raise TypeError(f"{name} must be a datetime, not {type(moment).__name__}")
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware; got the naive datetime {moment.isoformat()}")


class SupportCalendar:
    """The opening hours of the Customer Support Team and the working time between moments."""

    def __init__(self, open_time: time = time(9, 0), close_time: time = time(17, 30),
                 tz: str = "Europe/Amsterdam", extra_closed_days=(), closed_holidays=DEFAULT_CLOSED_HOLIDAYS):
        if not open_time < close_time:
            raise ValueError(f"support must open before it closes: {open_time} is not before {close_time}")
        try:
            self.tz = ZoneInfo(tz)
        except (ZoneInfoNotFoundError, ValueError) as error:
            raise ValueError(f"unknown time zone for the support calendar: {tz!r}") from error
        self.open_time = open_time
        self.close_time = close_time
        self.extra_closed_days = frozenset(_as_date(day) for day in extra_closed_days)
        self.closed_holidays = closing_holiday_keys(closed_holidays)

    @property
    def working_day(self) -> timedelta:
        """Return the open time of one working day (8.5 hours by default)."""
        return datetime.combine(date.min, self.close_time) - datetime.combine(date.min, self.open_time)

    def is_working_day(self, day: date) -> bool:
        """Tell whether support opens at all on this (local) day."""
        return (day.weekday() < 5 and day not in closing_holidays(day.year, self.closed_holidays)
                and day not in self.extra_closed_days)

    def opening(self, day: date) -> datetime:
        """Return the opening moment of a day, whether or not support opens that day."""
        return datetime.combine(day, self.open_time, tzinfo=self.tz)

    def closing(self, day: date) -> datetime:
        """Return the closing moment of a day, whether or not support opens that day."""
        return datetime.combine(day, self.close_time, tzinfo=self.tz)

    def is_open(self, moment: datetime) -> bool:
        """Tell whether support is open at this moment."""
        _require_aware(moment)
        local = moment.astimezone(self.tz)
        return self.is_working_day(local.date()) and self.open_time <= local.time() < self.close_time

    def next_opening(self, moment: datetime) -> datetime:
        """Return the moment itself when open, else the next moment support opens."""
        _require_aware(moment)
        local = moment.astimezone(self.tz)
        if self.is_open(local):
            return local
        day = local.date()
        if not (self.is_working_day(day) and local.time() < self.open_time):
            day = self._next_working_day(day)
        return self.opening(day)

    def reopens_at(self, moment: datetime) -> datetime | None:
        """Return when support opens again, or None while it is open (for "next available on ...")."""
        return None if self.is_open(moment) else self.next_opening(moment)

    def working_seconds_between(self, start: datetime, end: datetime) -> float:
        """Return the seconds of open time from start to end (negative when end comes first)."""
        _require_aware(start, "start")
        _require_aware(end, "end")
        if end < start:
            return -self.working_seconds_between(end, start)
        start_utc, end_utc = start.astimezone(timezone.utc), end.astimezone(timezone.utc)
        total = timedelta()
        day, last = start.astimezone(self.tz).date(), end.astimezone(self.tz).date()
        while day <= last:
            if self.is_working_day(day):
                begin = max(start_utc, self.opening(day).astimezone(timezone.utc))
                finish = min(end_utc, self.closing(day).astimezone(timezone.utc))
                if finish > begin:
                    total += finish - begin
            day += timedelta(days=1)
        return total.total_seconds()

    def add_working_time(self, start: datetime, duration: timedelta) -> datetime:
        """Return the moment when `duration` of open time has passed since start.

        The clock starts at the next opening; an amount that runs out exactly at closing
        time gives that closing moment, not the next morning.
        """
        _require_aware(start, "start")
        if duration < timedelta():
            raise ValueError(f"working time to add must not be negative: {duration}")
        cursor = self.next_opening(start)
        remaining = duration
        while True:
            closing = self.closing(cursor.date())
            # Subtract in UTC: same-zone subtraction in Python ignores a DST change in between.
            available = closing.astimezone(timezone.utc) - cursor.astimezone(timezone.utc)
            if remaining <= available:
                return (cursor.astimezone(timezone.utc) + remaining).astimezone(self.tz)
            remaining -= available
            cursor = self.opening(self._next_working_day(cursor.date()))

    def due_at(self, created: datetime, kind: str, managed: bool = False,
               managed_hours: float | None = None) -> datetime:
        """Return the moment a ticket's answer is expected, by the SLA's rule for its kind.

        A Managed Hosting ticket has its guaranteed response time (managed_hours working hours)
        only when the company has set one; otherwise the aim for its kind, like any ticket.
        """
        _require_aware(created, "created")
        if managed and managed_hours is not None:
            if managed_hours <= 0:
                raise ValueError(f"the Managed Hosting response time must be positive: {managed_hours}")
            return self.add_working_time(created, timedelta(hours=managed_hours))
        if kind == "technical":
            return self.add_working_time(created, TECHNICAL_WORKING_DAYS * self.working_day)
        if kind == "administrative":
            # "binnen 7 dagen": calendar days, same wall-clock time (also across DST), then the
            # next opening, since nobody answers while support is closed.
            later = created.astimezone(self.tz) + timedelta(days=ADMINISTRATIVE_DAYS)
            return self.next_opening(later.astimezone(timezone.utc))
        raise ValueError(f"unknown ticket kind {kind!r}: expected 'technical' or 'administrative'")

    def closed_weekdays(self, start: date, days: int = 366, lang: str = "nl") -> list[tuple[date, str]]:
        """Return the weekdays support is closed from start on (holidays and extra days), with their names.

        The support-hours article shows this list, so it cannot disagree with the response times.
        """
        names: dict[date, str] = {}
        for year in range(start.year, (start + timedelta(days=days)).year + 1):
            names.update(holiday_names(year, lang))
            if "liberation_day_every_year" in self.closed_holidays:
                names.setdefault(date(year, 5, 5), LIBERATION_DAY_NAMES.get(lang, LIBERATION_DAY_NAMES["en"]))
        closed = []
        for offset in range(days):
            day = start + timedelta(days=offset)
            if day.weekday() < 5 and not self.is_working_day(day):
                closed.append((day, names.get(day, "")))
        return closed

    def _next_working_day(self, day: date) -> date:
        # Terminates: weekends and holidays never close more than a few days in a row, and the
        # extra closed days are a finite set.
        day += timedelta(days=1)
        while not self.is_working_day(day):
            day += timedelta(days=1)
        return day


def _as_date(value) -> date:
    if isinstance(value, datetime):
        raise ValueError(f"an extra closed day must be a date, not a moment: {value!r}")
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError as error:
        raise ValueError(f"an extra closed day must be an ISO date (YYYY-MM-DD): {value!r}") from error


def _as_time(value, key: str) -> time:
    if isinstance(value, time):
        return value
    try:
        return time.fromisoformat(str(value).strip())
    except ValueError as error:
        raise ValueError(f"{key} must be a time such as 09:00: {value!r}") from error


def calendar_from_config(config) -> SupportCalendar:
    """Build the support calendar from the SUPPORT_* settings."""
    extra = config.get("SUPPORT_EXTRA_CLOSED_DAYS") or ()
    if isinstance(extra, str):  # from the environment: "2026-12-24,2026-12-31"
        extra = [part for part in extra.split(",") if part.strip()]
    return SupportCalendar(
        open_time=_as_time(config.get("SUPPORT_OPEN", "09:00"), "SUPPORT_OPEN"),
        close_time=_as_time(config.get("SUPPORT_CLOSE", "17:30"), "SUPPORT_CLOSE"),
        tz=config.get("SUPPORT_TIMEZONE", "Europe/Amsterdam"),
        extra_closed_days=extra,
        closed_holidays=config.get("SUPPORT_CLOSED_HOLIDAYS", DEFAULT_CLOSED_HOLIDAYS),
    )


def format_moment(moment: datetime) -> str:
    """Return a moment in the request's language, e.g. "Monday, November 30, 2026 at 09:00".

    Formatting needs an app context with Flask-Babel; the calendar itself does not.
    """
    return _("%(day)s at %(time)s", day=format_date(moment, "full"), time=format_time(moment, "HH:mm"))


def describe_next_opening(calendar: SupportCalendar, moment: datetime) -> str | None:
    """Return "The support team is next available on ..." while closed, None while open."""
    reopening = calendar.reopens_at(moment)
    if reopening is None:
        return None
    return _("The support team is next available on %(moment)s.", moment=format_moment(reopening))

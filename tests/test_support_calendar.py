"""The support calendar: opening hours, Dutch holidays, working time and response targets.

Expected moments are worked out by hand in the comments, not computed by the module.
"""

from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from flask_babel import force_locale

from helpsite.support_calendar import (
    DEFAULT_CLOSED_HOLIDAYS,
    SupportCalendar,
    calendar_from_config,
    describe_next_opening,
    format_moment,
    national_holidays,
)

AMS = ZoneInfo("Europe/Amsterdam")
HOUR = 3600


def at(*parts) -> datetime:
    """Return a moment in Amsterdam: at(2026, 3, 13, 16, 30)."""
    return datetime(*parts, tzinfo=AMS)


def utc(*parts) -> datetime:
    return datetime(*parts, tzinfo=timezone.utc)


@pytest.fixture
def cal():
    return SupportCalendar()


# --- which days are closed -------------------------------------------------------------

def test_holidays_are_the_documented_ones():
    # Pinned on purpose: a `holidays` upgrade that changes the Dutch list must fail here.
    assert national_holidays(2026) == {
        date(2026, 1, 1),    # Nieuwjaarsdag
        date(2026, 4, 3),    # Goede vrijdag
        date(2026, 4, 5),    # Eerste paasdag
        date(2026, 4, 6),    # Tweede paasdag
        date(2026, 4, 27),   # Koningsdag
        date(2026, 5, 14),   # Hemelvaartsdag
        date(2026, 5, 24),   # Eerste pinksterdag
        date(2026, 5, 25),   # Tweede pinksterdag
        date(2026, 12, 25),  # Eerste kerstdag
        date(2026, 12, 26),  # Tweede kerstdag
    }
    assert date(2026, 5, 5) not in national_holidays(2026)  # Bevrijdingsdag: lustrum years only
    assert date(2030, 5, 5) in national_holidays(2030)


def test_holiday_sets_are_cached_per_year():
    assert national_holidays(2027) is national_holidays(2027)


def test_kings_day_moves_to_saturday_26_april_when_27th_is_a_sunday(cal):
    for year in (2025, 2031):
        assert date(year, 4, 27).weekday() == 6
        assert date(year, 4, 26) in national_holidays(year)
        assert date(year, 4, 27) not in national_holidays(year)
        # Not moved again to the Monday: support opens as usual.
        assert cal.is_open(at(year, 4, 28, 9, 0))


def test_weekend_holidays_do_not_close_the_following_monday(cal):
    # Christmas 2027 falls on Saturday and Sunday.
    assert cal.is_open(at(2027, 12, 27, 10, 0))


def test_weekend_is_closed(cal):
    assert not cal.is_open(at(2026, 3, 7, 12, 0))  # Saturday
    assert not cal.is_open(at(2026, 3, 8, 12, 0))  # Sunday
    assert cal.next_opening(at(2026, 3, 7, 12, 0)) == at(2026, 3, 9, 9, 0)


@pytest.mark.parametrize("moment", [
    at(2026, 12, 25, 10, 0),  # Christmas on a Friday
    at(2026, 4, 6, 10, 0),    # Easter Monday
    at(2026, 4, 27, 10, 0),   # King's Day, a Monday
    at(2027, 4, 27, 10, 0),   # King's Day, a Tuesday
    at(2026, 5, 14, 10, 0),   # Ascension Day
    at(2026, 5, 25, 10, 0),   # Whit Monday
    at(2027, 1, 1, 10, 0),    # New Year's Day, a Friday
    at(2026, 4, 3, 10, 0),    # Good Friday, listed by the package
])
def test_holidays_are_closed(cal, moment):
    assert not cal.is_open(moment)


# --- opening hours -----------------------------------------------------------------------

def test_opening_and_closing_instants(cal):
    assert not cal.is_open(at(2026, 3, 10, 8, 59, 59, 999999))
    assert cal.is_open(at(2026, 3, 10, 9, 0))
    assert cal.is_open(at(2026, 3, 10, 17, 29, 59))
    assert not cal.is_open(at(2026, 3, 10, 17, 30))


def test_next_opening_is_the_moment_itself_when_open(cal):
    assert cal.next_opening(at(2026, 3, 10, 9, 0)) == at(2026, 3, 10, 9, 0)
    assert cal.next_opening(at(2026, 3, 10, 13, 15)) == at(2026, 3, 10, 13, 15)
    assert cal.reopens_at(at(2026, 3, 10, 13, 15)) is None


def test_early_morning_opens_the_same_day(cal):
    assert cal.next_opening(at(2026, 3, 11, 7, 59)) == at(2026, 3, 11, 9, 0)
    assert cal.next_opening(at(2026, 3, 11, 0, 0)) == at(2026, 3, 11, 9, 0)


def test_evening_and_closing_instant_open_the_next_morning(cal):
    assert cal.next_opening(at(2026, 3, 10, 20, 0)) == at(2026, 3, 11, 9, 0)
    assert cal.next_opening(at(2026, 3, 10, 17, 30)) == at(2026, 3, 11, 9, 0)
    assert cal.reopens_at(at(2026, 3, 10, 20, 0)) == at(2026, 3, 11, 9, 0)


def test_moments_in_other_zones_are_read_in_amsterdam(cal):
    assert cal.is_open(utc(2026, 1, 13, 8, 0))       # 09:00 CET
    assert not cal.is_open(utc(2026, 1, 13, 7, 59))  # 08:59 CET
    assert cal.is_open(utc(2026, 7, 7, 7, 0))        # 09:00 CEST
    assert cal.is_open(utc(2026, 1, 13, 16, 0))      # 17:00 CET
    assert not cal.is_open(utc(2026, 7, 7, 16, 0))   # 18:00 CEST
    opening = cal.next_opening(utc(2026, 3, 7, 12, 0))
    assert opening == at(2026, 3, 9, 9, 0)
    assert opening.tzinfo == AMS  # results are given in the calendar's zone


def test_new_years_eve_to_new_years_day(cal):
    assert cal.next_opening(at(2026, 12, 31, 18, 0)) == at(2027, 1, 4, 9, 0)  # Fri 1 Jan closed
    assert cal.next_opening(at(2025, 12, 31, 18, 0)) == at(2026, 1, 2, 9, 0)  # Thu 1 Jan closed


def test_around_kings_day_and_ascension(cal):
    assert cal.next_opening(at(2026, 4, 25, 11, 0)) == at(2026, 4, 28, 9, 0)  # Sat, then Mon 27 closed
    assert cal.next_opening(at(2027, 4, 26, 17, 30)) == at(2027, 4, 28, 9, 0)
    assert cal.next_opening(at(2026, 5, 13, 17, 30)) == at(2026, 5, 15, 9, 0)


def test_extra_closed_days():
    cal = SupportCalendar(extra_closed_days=["2026-12-24", date(2026, 12, 31)])
    assert not cal.is_open(at(2026, 12, 24, 10, 0))
    assert not cal.is_open(at(2026, 12, 31, 10, 0))
    # Wed 23 Dec closes; 24 extra, 25 Christmas, 26-27 weekend.
    assert cal.next_opening(at(2026, 12, 23, 17, 45)) == at(2026, 12, 28, 9, 0)
    assert SupportCalendar().is_open(at(2026, 12, 24, 10, 0))


# --- working time --------------------------------------------------------------------------

def test_friday_1630_has_used_one_hour_when_monday_opens(cal):
    assert cal.working_seconds_between(at(2026, 3, 13, 16, 30), at(2026, 3, 16, 9, 0)) == HOUR


def test_working_seconds_within_a_day_and_backwards(cal):
    assert cal.working_seconds_between(at(2026, 3, 10, 8, 0), at(2026, 3, 10, 20, 0)) == 8.5 * HOUR
    assert cal.working_seconds_between(at(2026, 3, 10, 10, 0), at(2026, 3, 10, 10, 0)) == 0
    assert cal.working_seconds_between(at(2026, 3, 10, 11, 0), at(2026, 3, 10, 10, 0)) == -HOUR
    assert cal.working_seconds_between(at(2026, 3, 7, 0, 0), at(2026, 3, 8, 23, 0)) == 0  # weekend


def test_working_seconds_over_a_week_with_a_holiday(cal):
    # Mon 30 Mar - Fri 3 Apr 2026 (Good Friday): four open days.
    assert cal.working_seconds_between(at(2026, 3, 30, 0, 0), at(2026, 4, 4, 0, 0)) == 4 * 8.5 * HOUR


def test_add_working_time_runs_only_while_open(cal):
    assert cal.add_working_time(at(2026, 3, 13, 16, 30), timedelta(hours=2)) == at(2026, 3, 16, 10, 0)
    assert cal.add_working_time(at(2026, 3, 14, 11, 0), timedelta(hours=1)) == at(2026, 3, 16, 10, 0)
    # Whit Monday ticket starts Tuesday.
    assert cal.add_working_time(at(2026, 5, 25, 10, 0), timedelta(hours=1)) == at(2026, 5, 26, 10, 0)


def test_add_working_time_ending_at_closing_gives_closing(cal):
    assert cal.add_working_time(at(2026, 3, 10, 9, 0), timedelta(hours=8.5)) == at(2026, 3, 10, 17, 30)
    assert cal.add_working_time(at(2026, 3, 10, 9, 0), timedelta(hours=8.5, seconds=1)) == \
        at(2026, 3, 11, 9, 0, 1)
    assert cal.add_working_time(at(2026, 3, 10, 20, 0), timedelta()) == at(2026, 3, 11, 9, 0)


def test_add_working_time_refuses_negative_durations(cal):
    with pytest.raises(ValueError, match="negative"):
        cal.add_working_time(at(2026, 3, 10, 9, 0), timedelta(hours=-1))


# --- response targets ------------------------------------------------------------------------

def test_technical_from_friday_1630(cal):
    # Fri 1h, Mon 8.5h, Tue 8.5h, Wed 7.5h: 25.5h = 3 working days.
    due = cal.due_at(at(2026, 3, 13, 16, 30), "technical")
    assert due == at(2026, 3, 18, 16, 30)
    assert cal.working_seconds_between(at(2026, 3, 13, 16, 30), due) == 3 * 8.5 * HOUR


def test_technical_from_saturday_starts_monday(cal):
    assert cal.due_at(at(2026, 3, 14, 11, 0), "technical") == at(2026, 3, 18, 17, 30)


def test_technical_over_christmas_on_a_friday(cal):
    # Thu 24 Dec 1h; Fri 25 holiday; Mon 28 8.5h, Tue 29 8.5h, Wed 30 7.5h.
    assert cal.due_at(at(2026, 12, 24, 16, 30), "technical") == at(2026, 12, 30, 16, 30)


def test_technical_over_new_year(cal):
    # Thu 31 Dec 0.5h; Fri 1 Jan holiday; Mon 4, Tue 5 8.5h each; Wed 6 8h.
    assert cal.due_at(at(2026, 12, 31, 17, 0), "technical") == at(2027, 1, 6, 17, 0)


def test_technical_over_easter(cal):
    # Thu 2 Apr 0.5h; Good Friday and Easter Monday closed; Tue 7, Wed 8 8.5h; Thu 9 8h.
    assert cal.due_at(at(2026, 4, 2, 17, 0), "technical") == at(2026, 4, 9, 17, 0)


def test_technical_over_ascension(cal):
    # Wed 13 May 0.5h; Thu 14 closed; Fri 15, Mon 18 8.5h; Tue 19 8h.
    assert cal.due_at(at(2026, 5, 13, 17, 0), "technical") == at(2026, 5, 19, 17, 0)


def test_technical_made_on_a_holiday(cal):
    # Whit Monday: the clock starts Tuesday 09:00; Tue, Wed, Thu in full.
    assert cal.due_at(at(2026, 5, 25, 10, 0), "technical") == at(2026, 5, 28, 17, 30)


def test_technical_across_spring_dst(cal):
    # Clocks go forward Sun 29 Mar 2026: Fri 1h, Mon 8.5h, Tue 8.5h, Wed 1 Apr 7.5h.
    start = at(2026, 3, 27, 16, 30)
    assert cal.working_seconds_between(start, at(2026, 3, 30, 9, 0)) == HOUR
    due = cal.due_at(start, "technical")
    assert due == at(2026, 4, 1, 16, 30)
    assert due.astimezone(timezone.utc) == utc(2026, 4, 1, 14, 30)
    assert cal.next_opening(at(2026, 3, 28, 12, 0)).astimezone(timezone.utc) == utc(2026, 3, 30, 7, 0)


def test_autumn_dst(cal):
    # Clocks go back Sun 25 Oct 2026: Fri 17:00-17:30 and Mon 09:00-10:00.
    assert cal.working_seconds_between(at(2026, 10, 23, 17, 0), at(2026, 10, 26, 10, 0)) == 1.5 * HOUR
    assert cal.next_opening(at(2026, 10, 24, 12, 0)).astimezone(timezone.utc) == utc(2026, 10, 26, 8, 0)
    # The night of the change itself (02:30 happens twice) is closed and opens Monday.
    assert cal.next_opening(utc(2026, 10, 25, 0, 30)) == at(2026, 10, 26, 9, 0)
    assert cal.due_at(at(2026, 10, 23, 16, 30), "technical") == at(2026, 10, 28, 16, 30)


def test_administrative_is_seven_calendar_days(cal):
    assert cal.due_at(at(2026, 3, 10, 10, 0), "administrative") == at(2026, 3, 17, 10, 0)
    # Lands in the evening: the next morning.
    assert cal.due_at(at(2026, 3, 10, 20, 0), "administrative") == at(2026, 3, 18, 9, 0)


def test_administrative_landing_on_a_weekend_or_holiday(cal):
    assert cal.due_at(at(2026, 3, 7, 10, 0), "administrative") == at(2026, 3, 16, 9, 0)     # Sat -> Mon
    assert cal.due_at(at(2026, 3, 22, 10, 0), "administrative") == at(2026, 3, 30, 9, 0)    # Sun -> Mon
    assert cal.due_at(at(2026, 12, 18, 12, 0), "administrative") == at(2026, 12, 28, 9, 0)  # Christmas


def test_administrative_keeps_the_wall_clock_across_dst(cal):
    assert cal.due_at(at(2026, 3, 23, 10, 0), "administrative") == at(2026, 3, 30, 10, 0)
    assert cal.due_at(at(2026, 10, 20, 10, 0), "administrative") == at(2026, 10, 27, 10, 0)


def test_managed_hosting_uses_its_own_hours_once_set(cal):
    created = at(2026, 3, 10, 15, 0)
    # Not set (the SLA names no number): the aim for its kind, like every ticket.
    assert cal.due_at(created, "technical", managed=True) == cal.due_at(created, "technical")
    assert cal.due_at(created, "administrative", managed=True) == cal.due_at(created, "administrative")
    # Set: Tue 2.5h, Wed 1.5h; the kind no longer matters.
    assert cal.due_at(created, "technical", True, 4) == at(2026, 3, 11, 10, 30)
    assert cal.due_at(created, "administrative", True, 4) == at(2026, 3, 11, 10, 30)
    assert cal.due_at(created, "technical", True, managed_hours=1.5) == at(2026, 3, 10, 16, 30)
    assert cal.due_at(at(2027, 4, 27, 11, 0), "technical", True, 4) == at(2027, 4, 28, 13, 0)  # King's Day
    with pytest.raises(ValueError, match="positive"):
        cal.due_at(created, "technical", True, 0)


def test_unknown_kind_is_refused(cal):
    with pytest.raises(ValueError, match="unknown ticket kind"):
        cal.due_at(at(2026, 3, 10, 10, 0), "urgent")


# --- refusals ----------------------------------------------------------------------------------

@pytest.mark.parametrize("call", [
    lambda cal, naive: cal.is_open(naive),
    lambda cal, naive: cal.next_opening(naive),
    lambda cal, naive: cal.reopens_at(naive),
    lambda cal, naive: cal.working_seconds_between(naive, at(2026, 3, 10, 9, 0)),
    lambda cal, naive: cal.working_seconds_between(at(2026, 3, 10, 9, 0), naive),
    lambda cal, naive: cal.add_working_time(naive, timedelta(hours=1)),
    lambda cal, naive: cal.due_at(naive, "technical"),
])
def test_naive_datetimes_are_refused(cal, call):
    with pytest.raises(ValueError, match="timezone-aware"):
        call(cal, datetime(2026, 3, 10, 10, 0))


def test_dates_are_not_moments(cal):
    with pytest.raises(TypeError, match="must be a datetime"):
        cal.is_open(date(2026, 3, 10))


@pytest.mark.parametrize("kwargs, message", [
    ({"open_time": time(18, 0)}, "open before it closes"),
    ({"tz": "Europe/Atlantis"}, "unknown time zone"),
    ({"extra_closed_days": ["24-12-2026"]}, "ISO date"),
    ({"extra_closed_days": [at(2026, 12, 24, 0, 0)]}, "not a moment"),
    ({"closed_holidays": ["good_friday", "boxing_day"]}, "unknown holiday in SUPPORT_CLOSED_HOLIDAYS: boxing_day"),
])
def test_bad_settings_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        SupportCalendar(**kwargs)


# --- settings and wording -----------------------------------------------------------------------

def test_calendar_from_config_reads_the_settings():
    cal = calendar_from_config({
        "SUPPORT_OPEN": "08:30", "SUPPORT_CLOSE": "17:00", "SUPPORT_TIMEZONE": "Europe/Amsterdam",
        "SUPPORT_EXTRA_CLOSED_DAYS": "2026-12-24, 2026-12-31",
    })
    assert cal.is_open(at(2026, 3, 10, 8, 30)) and not cal.is_open(at(2026, 3, 10, 17, 0))
    assert cal.working_day == timedelta(hours=8.5)
    assert not cal.is_open(at(2026, 12, 31, 10, 0))
    assert calendar_from_config({"SUPPORT_EXTRA_CLOSED_DAYS": ["2026-12-24"]}).extra_closed_days == \
        {date(2026, 12, 24)}
    with pytest.raises(ValueError, match="SUPPORT_OPEN"):
        calendar_from_config({"SUPPORT_OPEN": "9 uur"})


def test_calendar_from_app_defaults(app):
    cal = calendar_from_config(app.config)
    assert (cal.open_time, cal.close_time, cal.extra_closed_days) == (time(9, 0), time(17, 30), frozenset())
    assert app.config["SUPPORT_MANAGED_RESPONSE_HOURS"] is None  # a number the SLA does not give: unset


def test_describe_next_opening_in_both_languages(app, cal):
    sunday_evening = utc(2026, 11, 29, 20, 0)
    with app.test_request_context():
        with force_locale("en"):
            text = describe_next_opening(cal, sunday_evening)
            assert text == "The support team is next available on Monday, November 30, 2026 at 09:00."
        with force_locale("nl"):
            assert "maandag 30 november 2026" in format_moment(cal.next_opening(sunday_evening))
            assert "09:00" in format_moment(cal.next_opening(sunday_evening))
        assert describe_next_opening(cal, at(2026, 11, 30, 10, 0)) is None


# --- which holidays close support: a setting (the SLA says only "nationale feestdagen") -----------

def test_the_default_closing_holidays_are_the_documented_list(app):
    # The README's list, word for word as keys; the app's setting is this default.
    assert DEFAULT_CLOSED_HOLIDAYS == ("new_years_day", "good_friday", "easter_monday", "kings_day", "liberation_day",
                                       "ascension_day", "whit_monday", "christmas_day", "second_christmas_day")
    assert calendar_from_config(app.config).closed_holidays == DEFAULT_CLOSED_HOLIDAYS
    closed_2026 = [day for day, _ in SupportCalendar().closed_weekdays(date(2026, 1, 1), 365)]
    assert closed_2026 == [date(2026, 1, 1), date(2026, 4, 3), date(2026, 4, 6), date(2026, 4, 27), date(2026, 5, 14),
                           date(2026, 5, 25), date(2026, 12, 25)]  # 26 December 2026 is a Saturday
    assert SupportCalendar().is_working_day(date(2030, 5, 6))  # 6 May 2030 is an ordinary Monday
    assert not SupportCalendar().is_working_day(date(2025, 5, 5))  # Liberation Day in a lustrum year


def test_good_friday_can_be_left_open():
    cal = calendar_from_config({"SUPPORT_CLOSED_HOLIDAYS": "new_years_day, easter_monday"})
    assert cal.is_open(at(2026, 4, 3, 10, 0))  # Good Friday
    assert not cal.is_open(at(2026, 4, 6, 10, 0))  # Easter Monday
    assert cal.is_open(at(2026, 12, 25, 10, 0))  # Christmas is not in this list
    assert calendar_from_config({"SUPPORT_CLOSED_HOLIDAYS": "none"}).is_open(at(2026, 1, 1, 10, 0))


def test_liberation_day_every_year_closes_on_5_may_with_its_name():
    cal = calendar_from_config({"SUPPORT_CLOSED_HOLIDAYS": "liberation_day_every_year"})
    assert not cal.is_open(at(2026, 5, 5, 10, 0))
    assert SupportCalendar().is_open(at(2026, 5, 5, 10, 0))  # the default: lustrum years only
    assert (date(2026, 5, 5), "Bevrijdingsdag") in cal.closed_weekdays(date(2026, 5, 1), 10, lang="nl")
    assert (date(2026, 5, 5), "Liberation Day") in cal.closed_weekdays(date(2026, 5, 1), 10, lang="en")


def test_an_unknown_holiday_setting_stops_the_app_from_starting(make_app):
    with pytest.raises(ValueError, match="unknown holiday"):
        make_app(SUPPORT_CLOSED_HOLIDAYS="new_years_day,goede_vrijdag")

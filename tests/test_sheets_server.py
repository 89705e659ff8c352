"""The loopback Sheets fake, driven by the real gspread client: shapes, quirks and faults."""

from __future__ import annotations

from collections.abc import Iterator

import google.auth.exceptions
import gspread
import pytest
import requests
from fakes.sheets_server import FakeSheets, gspread_client
from gspread.utils import InsertDataOption, ValueInputOption

SID = "1qFopcWEGi_JqeOGvSs93SyFdsSI8J30NzrX92_HZBR0"
ROSTER = [
    ["Name", "Email", "Grade", ""],
    ["Ada Lovelace", "ada@school.org", "", ""],
    ["", "", "", ""],
    ["Alan Turing", "alan@school.org", "9", ""],
    ["", "", "", ""],
]


@pytest.fixture
def fake() -> Iterator[FakeSheets]:
    with FakeSheets() as server:
        server.add_spreadsheet(
            SID,
            "PD requests",
            {"Roster": ROSTER, "Form Responses 1": [], "Réponses": []},
        )
        server.add_tab(SID, "Archive", [["old"]], hidden=True)
        yield server
        assert server.errors == []


@pytest.fixture
def gc(fake: FakeSheets) -> gspread.Client:
    # A timeout so that a bug in the fake fails the test instead of hanging it.
    return gspread_client(fake.base_url, timeout=5)


def _authorized(fake: FakeSheets, method: str, path: str, **kwargs: object) -> requests.Response:
    return requests.request(
        method,
        fake.base_url + path,
        headers={"Authorization": "Bearer test"},
        timeout=5,
        **kwargs,  # type: ignore[arg-type]
    )


# -- reading -----------------------------------------------------------------------------------


def test_open_by_key_lists_tabs_with_real_metadata(gc: gspread.Client) -> None:
    sheet = gc.open_by_key(SID)

    assert sheet.title == "PD requests"
    assert (sheet.locale, sheet.timezone) == ("en_US", "Etc/GMT")
    tabs = sheet.worksheets()
    assert [w.title for w in tabs] == ["Roster", "Form Responses 1", "Réponses", "Archive"]
    assert [w.index for w in tabs] == [0, 1, 2, 3]
    assert tabs[0].id == 0
    assert all(w.id > 0 for w in tabs[1:])
    assert [w.isSheetHidden for w in tabs] == [False, False, False, True]
    assert [w.title for w in sheet.worksheets(exclude_hidden=True)] == [
        "Roster",
        "Form Responses 1",
        "Réponses",
    ]
    assert (tabs[0].row_count, tabs[0].col_count) == (1000, 26)


def test_metadata_payload_has_the_real_keys_and_no_hidden_false(fake: FakeSheets) -> None:
    body = _authorized(fake, "GET", f"/v4/spreadsheets/{SID}?includeGridData=false").json()

    assert list(body) == ["spreadsheetId", "properties", "sheets", "spreadsheetUrl"]
    assert body["properties"]["autoRecalc"] == "ON_CHANGE"
    first, *_, last = body["sheets"]
    assert first["properties"] == {
        "sheetId": 0,
        "title": "Roster",
        "index": 0,
        "sheetType": "GRID",
        "gridProperties": {"rowCount": 1000, "columnCount": 26},
    }
    assert last["properties"]["hidden"] is True
    assert body["spreadsheetUrl"] == f"https://docs.google.com/spreadsheets/d/{SID}/edit"


def test_worksheet_lookup_by_title_fetches_metadata_each_time(
    fake: FakeSheets, gc: gspread.Client
) -> None:
    sheet = gc.open_by_key(SID)
    fake.reset_requests()

    assert sheet.worksheet("Roster").id == 0
    with pytest.raises(gspread.exceptions.WorksheetNotFound):
        sheet.worksheet("roster")

    assert [r.line for r in fake.requests] == [f"GET /v4/spreadsheets/{SID}"] * 2
    assert fake.requests[0].param("includeGridData") == "false"


def test_values_get_trims_trailing_blanks_and_echoes_the_grid(
    fake: FakeSheets, gc: gspread.Client
) -> None:
    roster = gc.open_by_key(SID).worksheet("Roster")

    raw = roster.spreadsheet.values_get("'Roster'")
    assert raw == {
        "range": "Roster!A1:Z1000",
        "majorDimension": "ROWS",
        "values": [
            ["Name", "Email", "Grade"],
            ["Ada Lovelace", "ada@school.org"],
            [],
            ["Alan Turing", "alan@school.org", "9"],
        ],
    }
    # gspread pads rows to a rectangle itself.
    assert roster.get_all_values()[1] == ["Ada Lovelace", "ada@school.org", ""]
    assert fake.values(SID, "Roster") == raw["values"]


def test_values_get_open_ranges_single_cells_and_empty_ranges(gc: gspread.Client) -> None:
    sheet = gc.open_by_key(SID)

    assert sheet.values_get("'Roster'!A1:1")["range"] == "Roster!A1:Z1"
    assert sheet.values_get("'Roster'!B1:B")["values"] == [
        ["Email"],
        ["ada@school.org"],
        [],
        ["alan@school.org"],
    ]
    assert sheet.values_get("'Roster'!D4:A1")["range"] == "Roster!A1:D4"
    assert sheet.values_get("'Roster'!B2") == {
        "range": "Roster!B2",
        "majorDimension": "ROWS",
        "values": [["ada@school.org"]],
    }
    # An empty range has no "values" key at all (cassette WorksheetTest.test_clear).
    assert sheet.values_get("'Form Responses 1'") == {
        "range": "'Form Responses 1'!A1:Z1000",
        "majorDimension": "ROWS",
    }
    columns = sheet.values_get("'Roster'!A1:C2", params={"majorDimension": "COLUMNS"})
    assert columns["values"] == [["Name", "Ada Lovelace"], ["Email", "ada@school.org"], ["Grade"]]


def test_values_batch_get_reads_two_tabs_in_one_request(
    fake: FakeSheets, gc: gspread.Client
) -> None:
    sheet = gc.open_by_key(SID)
    fake.set_values(SID, "Form Responses 1", [["Timestamp", "Email Address"]])
    fake.reset_requests()

    result = sheet.values_batch_get(["'Roster'!A1:B2", "'Form Responses 1'"])

    assert fake.count() == 1
    assert fake.requests[0].line == f"GET /v4/spreadsheets/{SID}/values:batchGet"
    assert fake.requests[0].query["ranges"] == ["'Roster'!A1:B2", "'Form Responses 1'"]
    assert result["spreadsheetId"] == SID
    assert result["valueRanges"] == [
        {
            "range": "Roster!A1:B2",
            "majorDimension": "ROWS",
            "values": [["Name", "Email"], ["Ada Lovelace", "ada@school.org"]],
        },
        {
            "range": "'Form Responses 1'!A1:Z1000",
            "majorDimension": "ROWS",
            "values": [["Timestamp", "Email Address"]],
        },
    ]


# -- writing -----------------------------------------------------------------------------------


def test_append_rows_raw_keeps_text_while_user_entered_parses(
    fake: FakeSheets, gc: gspread.Client
) -> None:
    tab = gc.open_by_key(SID).worksheet("Form Responses 1")

    first = tab.append_rows([["=1+1", "0042", "true"]], value_input_option=ValueInputOption.raw)
    second = tab.append_rows(
        [["=1+1", "0042", "true"]], value_input_option=ValueInputOption.user_entered
    )

    assert "tableRange" not in first
    assert first["updates"]["updatedRange"] == "'Form Responses 1'!A1:C1"
    assert second["tableRange"] == "'Form Responses 1'!A1:C1"
    assert second["updates"]["updatedRange"] == "'Form Responses 1'!A2:C2"
    assert fake.values(SID, "Form Responses 1") == [
        ["=1+1", "0042", "true"],
        ["=1+1", "42", "TRUE"],
    ]
    assert fake.formulas(SID, "Form Responses 1") == {"A2": "=1+1"}
    assert [(w.kind, w.value_input_option) for w in fake.writes] == [
        ("append", "RAW"),
        ("append", "USER_ENTERED"),
    ]
    assert fake.requests[-1].param("valueInputOption") == "USER_ENTERED"


def test_append_writes_under_the_table_the_real_api_picks(
    fake: FakeSheets, gc: gspread.Client
) -> None:
    # Cassettes WorksheetTest.test_append_row_with_empty_value(_and_table_range).
    tab = gc.open_by_key(SID).worksheet("Form Responses 1")
    fake.set_values(SID, "Form Responses 1", [["x 1", "", "x 3"]])

    whole = tab.append_row(["y 1", "", "y 3"])
    anchored = tab.append_row(["z 1", "", "z 3"], table_range="A1")

    assert whole["tableRange"] == "'Form Responses 1'!C1"
    assert whole["updates"]["updatedRange"] == "'Form Responses 1'!C2:E2"
    assert anchored["tableRange"] == "'Form Responses 1'!A1"
    assert anchored["updates"]["updatedRange"] == "'Form Responses 1'!A2:C2"
    assert fake.values(SID, "Form Responses 1")[1] == ["z 1", "", "z 3", "", "y 3"]


def test_append_past_the_grid_grows_it(fake: FakeSheets, gc: gspread.Client) -> None:
    fake.add_tab(SID, "Tiny", [["h1", "h2"]], row_count=2, column_count=2)
    tab = gc.open_by_key(SID).worksheet("Tiny")

    result = tab.append_rows([["a", "b", "c"], ["d", "e", "f"]])

    assert result["updates"]["updatedRange"] == "Tiny!A2:C3"
    assert fake.grid_size(SID, "Tiny") == (3, 3)
    inserted = tab.append_rows([["g"]], insert_data_option=InsertDataOption.insert_rows)
    assert inserted["updates"]["updatedRange"] == "Tiny!A4"
    assert fake.grid_size(SID, "Tiny") == (4, 3)


def test_update_and_batch_update_report_what_they_wrote(
    fake: FakeSheets, gc: gspread.Client
) -> None:
    tab = gc.open_by_key(SID).worksheet("Roster")

    single = tab.update([["Grace Hopper", "grace@school.org"], ["=A1"]], "A6")
    batch = tab.batch_update(
        [
            {"range": "C1:D1", "values": [["Grade", "Status"]]},
            {"range": "C4:D4", "values": [["10", "sent"]]},
        ]
    )

    assert single == {
        "spreadsheetId": SID,
        "updatedRange": "Roster!A6:B7",
        "updatedRows": 2,
        "updatedColumns": 2,
        "updatedCells": 3,
    }
    # Distinct rows and columns, as in cassette WorksheetTest.test_batch_update.
    assert (batch["totalUpdatedRows"], batch["totalUpdatedColumns"]) == (2, 2)
    assert batch["totalUpdatedCells"] == 4
    assert [r["updatedRange"] for r in batch["responses"]] == ["Roster!C1:D1", "Roster!C4:D4"]
    assert fake.values(SID, "Roster")[3] == ["Alan Turing", "alan@school.org", "10", "sent"]
    assert fake.values(SID, "Roster")[6] == ["=A1"]
    assert fake.formulas(SID, "Roster") == {}
    assert {w.value_input_option for w in fake.writes} == {"RAW"}
    assert fake.requests[-1].body["valueInputOption"] == "RAW"


def test_update_outside_its_range_or_the_grid_is_refused(
    fake: FakeSheets, gc: gspread.Client
) -> None:
    tab = gc.open_by_key(SID).worksheet("Roster")

    with pytest.raises(gspread.exceptions.APIError) as wider:
        tab.update([["a", "b", "c"]], "A1:B1")
    with pytest.raises(gspread.exceptions.APIError) as beyond:
        tab.update([["a", "b"]], "Z1000")

    assert wider.value.code == 400
    assert wider.value.error["message"] == (
        "Requested writing within range [Roster!A1:B1], but tried writing to column [C]"
    )
    assert beyond.value.error["status"] == "INVALID_ARGUMENT"
    assert "exceeds grid limits. Max rows: 1000, max columns: 26" in beyond.value.error["message"]
    assert fake.writes == []
    assert fake.values(SID, "Roster")[0] == ["Name", "Email", "Grade"]


def test_clear_and_batch_clear(fake: FakeSheets, gc: gspread.Client) -> None:
    tab = gc.open_by_key(SID).worksheet("Roster")

    assert tab.batch_clear(["A2:B2"]) == {"spreadsheetId": SID, "clearedRanges": ["Roster!A2:B2"]}
    assert fake.values(SID, "Roster")[1] == []
    assert tab.clear() == {"spreadsheetId": SID, "clearedRange": "Roster!A1:Z1000"}
    assert fake.values(SID, "Roster") == []
    # gspread's own default for a range without "values".
    assert tab.get_all_values() == [[]]


def test_add_worksheet_then_write_to_it(fake: FakeSheets, gc: gspread.Client) -> None:
    sheet = gc.open_by_key(SID)

    status = sheet.add_worksheet("Status", rows=10, cols=3)
    status.update([["Teacher", "Cycle", "State"], ["ada@school.org", "2026-11", "sent"]], "A1")

    assert status.index == 4
    assert status.id == fake.sheet_id(SID, "Status") != 0
    assert fake.tab_titles(SID)[-1] == "Status"
    assert fake.grid_size(SID, "Status") == (10, 3)
    assert fake.values(SID, "Status")[1] == ["ada@school.org", "2026-11", "sent"]
    with pytest.raises(gspread.exceptions.APIError) as duplicate:
        sheet.add_worksheet("status", rows=1, cols=1)
    assert duplicate.value.error["message"] == (
        'Invalid requests[0].addSheet: A sheet with the name "status" already exists. '
        "Please enter another name."
    )
    status.update_title("Status 2026")
    sheet.del_worksheet(sheet.worksheet("Archive"))
    assert fake.tab_titles(SID) == ["Roster", "Form Responses 1", "Réponses", "Status 2026"]


def test_unsupported_batch_update_request_fails_loudly(gc: gspread.Client) -> None:
    sheet = gc.open_by_key(SID)

    with pytest.raises(gspread.exceptions.APIError) as error:
        sheet.batch_update({"requests": [{"repeatCell": {"range": {"sheetId": 0}}}]})

    assert error.value.code == 400
    assert error.value.error["message"].startswith("Invalid requests[0].repeatCell: ")
    assert "not supported by the fake" in error.value.error["message"]


def test_titles_with_spaces_and_accents_round_trip_through_the_url(
    fake: FakeSheets, gc: gspread.Client
) -> None:
    sheet = gc.open_by_key(SID)
    for title in ("Form Responses 1", "Réponses"):
        sheet.worksheet(title).update([["Horodateur", "Courriel"], ["2026-11-02", "é@x.fr"]], "A1")

    assert fake.values(SID, "Form Responses 1")[1] == ["2026-11-02", "é@x.fr"]
    assert sheet.worksheet("Réponses").get_all_values() == [
        ["Horodateur", "Courriel"],
        ["2026-11-02", "é@x.fr"],
    ]
    targets = [r.raw_target for r in fake.requests if "/values/" in r.path]
    assert targets[0] == (
        f"/v4/spreadsheets/{SID}/values/%27Form%20Responses%201%27%21A1?valueInputOption=RAW"
    )
    assert targets[-1] == f"/v4/spreadsheets/{SID}/values/%27R%C3%A9ponses%27"
    assert fake.writes[0].updated_range == "'Form Responses 1'!A1:B2"


# -- errors ------------------------------------------------------------------------------------


def test_unknown_spreadsheet_is_404_and_unknown_tab_is_400(gc: gspread.Client) -> None:
    with pytest.raises(gspread.exceptions.SpreadsheetNotFound) as missing:
        gc.open_by_key("no-such-id")
    assert missing.value.args[0].status_code == 404

    with pytest.raises(gspread.exceptions.APIError) as error:
        gc.http_client.values_get("no-such-id", "'Roster'")
    assert error.value.code == 404
    assert error.value.error == {
        "code": 404,
        "message": "Requested entity was not found.",
        "status": "NOT_FOUND",
    }

    with pytest.raises(gspread.exceptions.APIError) as bad_range:
        gc.open_by_key(SID).values_get("'Nope'!A1:B2")
    assert bad_range.value.code == 400
    assert bad_range.value.error["message"] == "Unable to parse range: 'Nope'!A1:B2"


def test_error_bodies_are_the_real_envelope_byte_for_byte(fake: FakeSheets) -> None:
    response = _authorized(fake, "GET", "/v4/spreadsheets/test?includeGridData=false")

    assert response.status_code == 404
    assert response.headers["Content-Type"] == "application/json; charset=UTF-8"
    # Cassette ClientTest.test_access_non_existing_spreadsheet, verbatim.
    assert response.text == (
        '{\n  "error": {\n    "code": 404,\n    "message": "Requested entity was not found.",\n'
        '    "status": "NOT_FOUND"\n  }\n}\n'
    )


def test_missing_or_wrong_token_is_401(fake: FakeSheets) -> None:
    anonymous = requests.get(f"{fake.base_url}/v4/spreadsheets/{SID}", timeout=5)
    assert anonymous.status_code == 401
    assert anonymous.json()["error"]["status"] == "UNAUTHENTICATED"

    with FakeSheets(token="the-real-one") as strict:
        strict.add_spreadsheet(SID)
        # google-auth answers a 401 by refreshing, which a bare access token cannot do.
        with pytest.raises(google.auth.exceptions.RefreshError):
            gspread_client(strict.base_url, token="stale").open_by_key(SID)
        assert gspread_client(strict.base_url, token="the-real-one").open_by_key(SID).id == SID
        assert [r.status for r in strict.requests] == [401, 200]


# -- fault injection ---------------------------------------------------------------------------


def test_injected_429_surfaces_as_api_error_with_its_code(
    fake: FakeSheets, gc: gspread.Client
) -> None:
    tab = gc.open_by_key(SID).worksheet("Roster")
    fake.fail_next(429, retry_after=7)

    with pytest.raises(gspread.exceptions.APIError) as error:
        tab.get_all_values()

    assert error.value.code == 429
    assert error.value.error["status"] == "RESOURCE_EXHAUSTED"
    quota = "Quota exceeded for quota metric 'Read requests'"
    assert error.value.error["message"].startswith(quota)
    assert error.value.error["details"][0]["reason"] == "RATE_LIMIT_EXCEEDED"
    assert error.value.response.headers["Retry-After"] == "7"
    assert fake.pending_faults() == 0
    assert tab.get_all_values()[0] == ["Name", "Email", "Grade"]
    assert [r.status for r in fake.requests[-2:]] == [429, 200]


def test_faults_target_matching_calls_and_carry_real_bodies(
    fake: FakeSheets, gc: gspread.Client
) -> None:
    tab = gc.open_by_key(SID).worksheet("Roster")
    fake.fail_next(503, match=":append")
    fake.fail_next(403, reason="rateLimitExceeded", match=lambda line: line.startswith("PUT "))

    assert tab.get_all_values()[0][0] == "Name"
    with pytest.raises(gspread.exceptions.APIError) as unavailable:
        tab.append_row(["x"])
    with pytest.raises(gspread.exceptions.APIError) as limited:
        tab.update([["x"]], "A1")

    assert unavailable.value.error["status"] == "UNAVAILABLE"
    assert limited.value.code == 403
    assert limited.value.error["errors"][0]["reason"] == "rateLimitExceeded"
    assert fake.writes == []
    assert fake.values(SID, "Roster")[0][0] == "Name"


def test_dropped_connection_surfaces_as_connection_error(
    fake: FakeSheets, gc: gspread.Client
) -> None:
    tab = gc.open_by_key(SID).worksheet("Form Responses 1")
    fake.fail_next(drop=True)
    fake.fail_next(drop=True, after_apply=True)

    with pytest.raises(requests.exceptions.ConnectionError):
        tab.append_row(["lost"])
    with pytest.raises(requests.exceptions.ConnectionError):
        tab.append_row(["stored, then dropped"])

    # Only the second one reached the sheet: the client cannot tell them apart.
    assert fake.values(SID, "Form Responses 1") == [["stored, then dropped"]]
    assert [r.status for r in fake.requests[-2:]] == [None, None]
    assert tab.get_all_values() == [["stored, then dropped"]]


def test_delay_makes_the_client_time_out(fake: FakeSheets) -> None:
    impatient = gspread_client(fake.base_url, timeout=0.2)
    sheet = impatient.open_by_key(SID)
    fake.fail_next(delay=3, match="values")

    with pytest.raises(requests.exceptions.ReadTimeout):
        sheet.values_get("'Roster'!A1")
    assert sheet.values_get("'Roster'!A1")["values"] == [["Name"]]


def test_request_log_records_method_path_query_and_body(
    fake: FakeSheets, gc: gspread.Client
) -> None:
    tab = gc.open_by_key(SID).worksheet("Roster")
    fake.reset_requests()

    tab.append_rows([["Edsger Dijkstra", "edsger@school.org"]])

    (request,) = fake.requests
    assert request.method == "POST"
    assert request.path == f"/v4/spreadsheets/{SID}/values/'Roster':append"
    assert request.query == {"valueInputOption": ["RAW"]}
    assert request.body == {"values": [["Edsger Dijkstra", "edsger@school.org"]]}
    assert request.headers["authorization"] == "Bearer test"
    assert request.status == 200
    assert fake.count("POST", ":append") == 1
    assert fake.count("GET") == 0
    # The append landed under the last row of the roster table, in column A.
    assert fake.writes[0].updated_range == "Roster!A5:B5"

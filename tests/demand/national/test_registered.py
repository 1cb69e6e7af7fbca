"""NHS Digital's "Patients Registered at a GP Practice" files (:mod:`demand.national.registered`).

The fixtures are written here in the publication's layouts (see the module's docstring), with
invented practices (A99xxx) and counts drawn from a seeded generator.
"""

from __future__ import annotations

import gzip

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from cli import main
from demand.national.cbt import NationalDataError
from demand.national.registered import ingest_registered, read_patients_registered
from telephony.practices import (
    AGE_SHARES,
    read_registry,
    registry_history,
    update_registry,
)

QUIN = [f"{a}_{a + 4}" for a in range(0, 95, 5)] + ["95+"]
SINGLE = [str(a) for a in range(95)] + ["95+"]
# registry band of each five-year group, by hand (not by the code under test)
QUIN_BAND = {q: ("age_0_4" if a < 5 else "age_5_14" if a < 15 else "age_15_44" if a < 45 else "age_45_64" if a < 65
                 else "age_65_74" if a < 75 else "age_75_plus") for q, a in zip(QUIN, range(0, 100, 5))}


def _counts(rng, practices, labels):
    return {(p, s, a): int(rng.integers(20, 200)) for p in practices for s in ("MALE", "FEMALE") for a in labels}


def write_quin(path, counts, extract="01JAN2026", other_orgs=True):
    rows = ["PUBLICATION,EXTRACT_DATE,ORG_TYPE,ORG_CODE,ONS_CODE,POSTCODE,SEX,AGE_GROUP_5,NUMBER_OF_PATIENTS"]
    practices = sorted({p for p, _, _ in counts})
    for p in practices:
        for sex in ("ALL", "MALE", "FEMALE"):
            for a in QUIN + ["ALL"]:
                n = sum(v for (pp, s, aa), v in counts.items() if pp == p and (sex == "ALL" or s == sex) and (a == "ALL" or aa == a))
                rows.append(f"GP_PRAC_PAT_LIST,{extract},GP,{p},,ZZ99 9ZZ,{sex},{a},{n}")
    if other_orgs:  # every level is in the same file: a PCN's and a region's rows are not practices
        rows.append(f"GP_PRAC_PAT_LIST,{extract},PCN,U99001,,,ALL,ALL,123456")
        rows.append(f"GP_PRAC_PAT_LIST,{extract},COMM_REGION,Y99,E40000099,,ALL,ALL,9999999")
    path.write_text("\n".join(rows) + "\n")
    return path


def expected_shares(counts, practice):
    per_band = {b: 0 for b in AGE_SHARES}
    for (p, _s, a), n in counts.items():
        if p == practice:
            per_band[QUIN_BAND[a]] += n
    total = sum(per_band.values())
    return total, {b: v / total for b, v in per_band.items()}


def test_the_five_year_file_gives_each_practice_its_list_and_six_age_shares(tmp_path):
    rng = np.random.default_rng(12)
    counts = _counts(rng, ["A99001", "A99002"], QUIN)
    df = read_patients_registered(write_quin(tmp_path / "gp-reg-pat-prac-quin-age.csv", counts))
    assert list(df["practice_id"]) == ["A99001", "A99002"]  # the PCN and region rows left out
    assert (df["month"] == pd.Timestamp("2026-01-01")).all()
    for _, row in df.iterrows():
        total, shares = expected_shares(counts, row["practice_id"])
        assert row["list_size"] == total
        assert row[list(AGE_SHARES)].to_numpy(dtype=float) == pytest.approx([shares[b] for b in AGE_SHARES])
    assert df[list(AGE_SHARES)].sum(axis=1).to_numpy() == pytest.approx([1.0, 1.0])


def test_the_single_year_files_need_both_sexes_and_agree_with_the_five_year_file(tmp_path):
    rng = np.random.default_rng(3)
    single = _counts(rng, ["A99001"], SINGLE)
    header = "PUBLICATION,EXTRACT_DATE,TYPE,SUB_ICB_LOCATION_CODE,ONS_SUB_ICB_LOCATION_CODE,CODE,POSTCODE,SEX,AGE,NUMBER_OF_PATIENTS"
    files = {}
    for sex in ("MALE", "FEMALE"):
        rows = [header]
        for a in SINGLE + ["ALL"]:
            n = sum(v for (_p, s, aa), v in single.items() if s == sex and (a == "ALL" or aa == a))
            rows.append(f"GP_PRAC_PAT_LIST,01FEB2026,GP,99X,E38000999,A99001,ZZ99 9ZZ,{sex},{a},{n}")
        files[sex] = tmp_path / f"gp-reg-pat-prac-sing-age-{sex.lower()}.csv.gz"
        files[sex].write_bytes(gzip.compress(("\n".join(rows) + "\n").encode()))
    with pytest.raises(NationalDataError, match="only MALE patients; read it with the female file"):
        read_patients_registered(files["MALE"])
    df = read_patients_registered([files["MALE"], files["FEMALE"]])
    # the same patients grouped in five-year bands must give the same profile
    quin = {}
    for (p, s, a), n in single.items():
        q = QUIN[min(int(a.rstrip("+")) // 5, 19)]
        quin[(p, s, q)] = quin.get((p, s, q), 0) + n
    total, shares = expected_shares(quin, "A99001")
    row = df.iloc[0]
    assert row["month"] == pd.Timestamp("2026-02-01") and row["list_size"] == total and row["sub_icb_code"] == "99X"
    assert row[list(AGE_SHARES)].to_numpy(dtype=float) == pytest.approx([shares[b] for b in AGE_SHARES])


def test_the_totals_file_with_the_mapping_file_gives_sizes_and_the_hierarchy(tmp_path):
    (tmp_path / "gp-reg-pat-prac-all.csv").write_text(
        "PUBLICATION,EXTRACT_DATE,TYPE,SUB_ICB_LOCATION_CODE,ONS_SUB_ICB_LOCATION_CODE,CODE,POSTCODE,SEX,AGE,NUMBER_OF_PATIENTS\n"
        "GP_PRAC_PAT_LIST,01JAN2026,GP,99X,E38000999,A99001,ZZ99 9ZZ,ALL,ALL,6100\n"
        "GP_PRAC_PAT_LIST,01JAN2026,GP,99X,E38000999,A99002,ZZ99 9ZZ,ALL,ALL,9050\n"
    )
    (tmp_path / "gp-reg-pat-prac-map.csv").write_text(
        "PUBLICATION,EXTRACT_DATE,PRACTICE_CODE,PRACTICE_NAME,PRACTICE_POSTCODE,ONS_SUB_ICB_LOCATION_CODE,"
        "SUB_ICB_LOCATION_CODE,SUB_ICB_LOCATION_NAME,ONS_ICB_CODE,ICB_CODE,ICB_NAME,ONS_COMM_REGION_CODE,"
        "COMM_REGION_CODE,COMM_REGION_NAME,PCN_CODE,PCN_NAME\n"
        "GP_PRAC_PAT_LIST,01JAN2026,A99001,HARBOUR VIEW SURGERY,ZZ99 9ZZ,E38000999,99X,NHS EXAMPLE SUB ICB,"
        "E54000099,Q99,NHS EXAMPLE ICB,E40000099,Y99,EXAMPLE REGION,U99001,EXAMPLE PCN\n"
    )
    df = read_patients_registered([tmp_path / "gp-reg-pat-prac-all.csv", tmp_path / "gp-reg-pat-prac-map.csv"])
    assert list(df["list_size"]) == [6100, 9050] and df[list(AGE_SHARES)].isna().all().all()
    a = df.set_index("practice_id").loc["A99001"]
    assert (a["icb_code"], a["region_code"], a["pcn_code"], a["practice_name"]) == ("Q99", "Y99", "U99001", "HARBOUR VIEW SURGERY")


def test_ingest_dates_the_registry_by_extract_month_and_keeps_what_else_it_holds(tmp_path, store):
    update_registry(store, pd.DataFrame({"practice_id": ["A99001"], "name": ["Harbour View Surgery"], "opening_hours": ["Mon-Fri 08:00-18:30"]}), source="mine")
    rng = np.random.default_rng(5)
    jan = write_quin(tmp_path / "jan.csv", _counts(rng, ["A99001", "A99002"], QUIN))
    feb_counts = _counts(rng, ["A99001", "A99002"], QUIN)
    feb = write_quin(tmp_path / "feb.csv", feb_counts, extract="01FEB2026")
    first = ingest_registered(store, jan)
    assert (first.added, first.changed) == (2, 0)
    again = ingest_registered(store, jan)
    assert (again.added, again.changed, again.unchanged) == (0, 0, 2)
    ingest_registered(store, feb)
    hist = registry_history(store)
    assert len(hist) == 5  # the undated row and two months of two practices
    latest = read_registry(store).set_index("practice_id")
    assert latest.loc["A99001", "list_size"] == expected_shares(feb_counts, "A99001")[0]
    assert latest.loc["A99001", "name"] == "Harbour View Surgery"  # not blanked by the monthly update
    in_jan = read_registry(store, as_of="2026-01-31").set_index("practice_id")
    assert in_jan.loc["A99002", "valid_from"] == pd.Timestamp("2026-01-01")


def test_the_command_reads_the_files_and_says_what_changed(tmp_path, key):
    rng = np.random.default_rng(7)
    f = write_quin(tmp_path / "gp-reg-pat-prac-quin-age.csv", _counts(rng, ["A99001", "A99002", "A99003"], QUIN))
    res = CliRunner().invoke(main, ["ingest", "registered", str(f), "--store", str(tmp_path / "s")])
    assert res.exit_code == 0, res.output
    assert res.output.strip() == "gp-reg-pat-prac-quin-age.csv: 3 practice(s); registry rows added 3, changed 0, unchanged 0"


@pytest.mark.parametrize(
    "text, words",
    [
        ("CODE,NUMBER\nA99001,5\n", "no column for extract_date, patients"),
        (
            (
                "EXTRACT_DATE,CODE,SEX,AGE,NUMBER_OF_PATIENTS\n01JAN2026,A99001,ALL,ALL,lots\n01XYZ2026,A99002,ALL,ALL,5\n"
                "01JAN2026,A99003,ALL,old,5\n"
            ),
            (
                "3 row(s) cannot be read, nothing taken: line 2: NUMBER_OF_PATIENTS 'lots' is not a count; "
                "line 3: extract date '01XYZ2026' is not a date (like 01JAN2026); line 4: age 'old' is not an age or age band"
            ),
        ),
    ],
)
def test_files_that_are_not_the_publication_or_have_bad_rows_are_refused_with_lines(tmp_path, text, words):
    f = tmp_path / "reg.csv"
    f.write_text(text)
    with pytest.raises(NationalDataError) as err:
        read_patients_registered(f)
    assert str(err.value).startswith("reg.csv: ") and words in str(err.value)

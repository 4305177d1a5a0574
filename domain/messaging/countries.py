"""Numbering-plan data for the destinations smsledger can validate.

This module is data, not code: phone.py builds its lookup tables from it once at
import. Lengths are of the national significant number (NSN: the digits after
the calling code, without the trunk prefix). They cover every mobile length of
the country plus its common fixed-line lengths, checked against ITU-T E.164
national plans as summarised by libphonenumber; where a plan has many lengths
(DE, AT, IT, LU, FI) the whole span is accepted rather than guessing wrong.
"""

from __future__ import annotations

from typing import Final

CountryRow = tuple[str, str, str, str, tuple[int, ...]]

# (ISO 3166-1 alpha-2, name, calling code, trunk prefix, allowed NSN lengths)
COUNTRIES: Final[tuple[CountryRow, ...]] = (
    # North American Numbering Plan: one calling code, told apart by area code.
    ("US", "United States", "1", "1", (10,)),
    ("CA", "Canada", "1", "1", (10,)),
    ("AG", "Antigua and Barbuda", "1", "1", (10,)),
    ("AI", "Anguilla", "1", "1", (10,)),
    ("AS", "American Samoa", "1", "1", (10,)),
    ("BB", "Barbados", "1", "1", (10,)),
    ("BM", "Bermuda", "1", "1", (10,)),
    ("BS", "Bahamas", "1", "1", (10,)),
    ("DM", "Dominica", "1", "1", (10,)),
    ("DO", "Dominican Republic", "1", "1", (10,)),
    ("GD", "Grenada", "1", "1", (10,)),
    ("GU", "Guam", "1", "1", (10,)),
    ("JM", "Jamaica", "1", "1", (10,)),
    ("KN", "Saint Kitts and Nevis", "1", "1", (10,)),
    ("KY", "Cayman Islands", "1", "1", (10,)),
    ("LC", "Saint Lucia", "1", "1", (10,)),
    ("MP", "Northern Mariana Islands", "1", "1", (10,)),
    ("MS", "Montserrat", "1", "1", (10,)),
    ("PR", "Puerto Rico", "1", "1", (10,)),
    ("SX", "Sint Maarten", "1", "1", (10,)),
    ("TC", "Turks and Caicos Islands", "1", "1", (10,)),
    ("TT", "Trinidad and Tobago", "1", "1", (10,)),
    ("VC", "Saint Vincent and the Grenadines", "1", "1", (10,)),
    ("VG", "British Virgin Islands", "1", "1", (10,)),
    ("VI", "U.S. Virgin Islands", "1", "1", (10,)),
    # Latin America
    ("MX", "Mexico", "52", "", (10,)),
    ("BR", "Brazil", "55", "0", (10, 11)),
    ("AR", "Argentina", "54", "0", (10, 11)),
    ("CL", "Chile", "56", "", (9,)),
    ("CO", "Colombia", "57", "0", (8, 10)),
    ("PE", "Peru", "51", "0", (8, 9)),
    ("VE", "Venezuela", "58", "0", (10,)),
    ("EC", "Ecuador", "593", "0", (8, 9)),
    ("UY", "Uruguay", "598", "0", (8,)),
    ("PY", "Paraguay", "595", "0", (7, 8, 9)),
    ("BO", "Bolivia", "591", "0", (8,)),
    ("CR", "Costa Rica", "506", "", (8,)),
    ("PA", "Panama", "507", "", (7, 8)),
    ("GT", "Guatemala", "502", "", (8,)),
    ("SV", "El Salvador", "503", "", (8,)),
    ("HN", "Honduras", "504", "", (8,)),
    ("NI", "Nicaragua", "505", "", (8,)),
    # Europe
    ("GB", "United Kingdom", "44", "0", (10,)),
    ("IE", "Ireland", "353", "0", (7, 8, 9, 10)),
    ("FR", "France", "33", "0", (9,)),
    ("DE", "Germany", "49", "0", (6, 7, 8, 9, 10, 11, 12, 13)),
    ("AT", "Austria", "43", "0", (4, 5, 6, 7, 8, 9, 10, 11, 12, 13)),
    ("CH", "Switzerland", "41", "0", (9,)),
    ("NL", "Netherlands", "31", "0", (9,)),
    ("BE", "Belgium", "32", "0", (8, 9)),
    ("LU", "Luxembourg", "352", "", (4, 5, 6, 7, 8, 9, 10, 11)),
    ("ES", "Spain", "34", "", (9,)),
    ("PT", "Portugal", "351", "", (9,)),
    ("IT", "Italy", "39", "", (6, 7, 8, 9, 10, 11, 12)),
    ("GR", "Greece", "30", "", (10,)),
    ("CY", "Cyprus", "357", "", (8,)),
    ("MT", "Malta", "356", "", (8,)),
    ("DK", "Denmark", "45", "", (8,)),
    ("NO", "Norway", "47", "", (8,)),
    ("SE", "Sweden", "46", "0", (7, 8, 9)),
    ("FI", "Finland", "358", "0", (5, 6, 7, 8, 9, 10)),
    ("IS", "Iceland", "354", "", (7, 9)),
    ("PL", "Poland", "48", "", (9,)),
    ("CZ", "Czechia", "420", "", (9,)),
    ("SK", "Slovakia", "421", "0", (9,)),
    ("HU", "Hungary", "36", "06", (8, 9)),
    ("RO", "Romania", "40", "0", (9,)),
    ("BG", "Bulgaria", "359", "0", (7, 8, 9)),
    ("HR", "Croatia", "385", "0", (8, 9)),
    ("SI", "Slovenia", "386", "0", (8,)),
    ("RS", "Serbia", "381", "0", (8, 9, 10)),
    ("EE", "Estonia", "372", "", (7, 8)),
    ("LV", "Latvia", "371", "", (8,)),
    ("LT", "Lithuania", "370", "0", (8,)),
    ("UA", "Ukraine", "380", "0", (9,)),
    ("GE", "Georgia", "995", "0", (9,)),
    ("TR", "Turkey", "90", "0", (10,)),
    ("RU", "Russia", "7", "8", (10,)),
    ("KZ", "Kazakhstan", "7", "8", (10,)),
    # Middle East
    ("AE", "United Arab Emirates", "971", "0", (8, 9)),
    ("SA", "Saudi Arabia", "966", "0", (9,)),
    ("QA", "Qatar", "974", "", (8,)),
    ("KW", "Kuwait", "965", "", (8,)),
    ("BH", "Bahrain", "973", "", (8,)),
    ("OM", "Oman", "968", "", (8,)),
    ("JO", "Jordan", "962", "0", (8, 9)),
    ("LB", "Lebanon", "961", "0", (7, 8)),
    ("IL", "Israel", "972", "0", (8, 9)),
    ("IQ", "Iraq", "964", "0", (8, 9, 10)),
    # Africa
    ("GH", "Ghana", "233", "0", (9,)),
    ("NG", "Nigeria", "234", "0", (8, 10)),
    ("KE", "Kenya", "254", "0", (9,)),
    ("ZA", "South Africa", "27", "0", (9,)),
    ("EG", "Egypt", "20", "0", (8, 9, 10)),
    ("MA", "Morocco", "212", "0", (9,)),
    ("DZ", "Algeria", "213", "0", (8, 9)),
    ("TN", "Tunisia", "216", "", (8,)),
    ("SN", "Senegal", "221", "", (9,)),
    ("CI", "Côte d'Ivoire", "225", "", (10,)),
    ("CM", "Cameroon", "237", "", (9,)),
    ("UG", "Uganda", "256", "0", (9,)),
    ("TZ", "Tanzania", "255", "0", (9,)),
    ("RW", "Rwanda", "250", "0", (8, 9)),
    ("ET", "Ethiopia", "251", "0", (9,)),
    ("ZM", "Zambia", "260", "0", (9,)),
    ("ZW", "Zimbabwe", "263", "0", (9,)),
    ("AO", "Angola", "244", "", (9,)),
    ("MZ", "Mozambique", "258", "", (8, 9)),
    ("BW", "Botswana", "267", "", (7, 8)),
    ("NA", "Namibia", "264", "0", (8, 9)),
    ("MU", "Mauritius", "230", "", (7, 8)),
    # Asia and Oceania
    ("IN", "India", "91", "0", (10,)),
    ("PK", "Pakistan", "92", "0", (9, 10)),
    ("BD", "Bangladesh", "880", "0", (8, 9, 10)),
    ("LK", "Sri Lanka", "94", "0", (9,)),
    ("NP", "Nepal", "977", "0", (8, 10)),
    ("CN", "China", "86", "0", (7, 8, 9, 10, 11)),
    ("HK", "Hong Kong", "852", "", (8,)),
    ("TW", "Taiwan", "886", "0", (8, 9)),
    ("JP", "Japan", "81", "0", (9, 10)),
    ("KR", "South Korea", "82", "0", (8, 9, 10)),
    ("SG", "Singapore", "65", "", (8,)),
    ("MY", "Malaysia", "60", "0", (8, 9, 10)),
    ("TH", "Thailand", "66", "0", (8, 9)),
    ("VN", "Vietnam", "84", "0", (9, 10)),
    ("PH", "Philippines", "63", "0", (8, 9, 10)),
    ("ID", "Indonesia", "62", "0", (7, 8, 9, 10, 11, 12)),
    ("AU", "Australia", "61", "0", (9,)),
    ("NZ", "New Zealand", "64", "0", (8, 9, 10)),
    ("FJ", "Fiji", "679", "", (7,)),
)

# Where several countries share a calling code, the leading digits of the NSN
# decide; a number matching none of them belongs to the code's home country
# (the one country of that code listed in no prefix here: US for +1, RU for +7).
NSN_PREFIX_COUNTRIES: Final[dict[str, dict[str, str]]] = {
    "1": {
        # Canada's geographic area codes.
        **dict.fromkeys(
            (
                "204 226 236 249 250 257 263 273 289 306 343 354 365 367 "
                "368 382 403 416 418 428 431 437 438 450 468 474 506 514 "
                "519 548 579 581 584 587 604 613 639 647 672 683 705 709 "
                "742 753 778 780 782 807 819 825 867 873 879 902 905 942"
            ).split(),
            "CA",
        ),
        "268": "AG",
        "264": "AI",
        "684": "AS",
        "246": "BB",
        "441": "BM",
        "242": "BS",
        "767": "DM",
        "809": "DO",
        "829": "DO",
        "849": "DO",
        "473": "GD",
        "671": "GU",
        "658": "JM",
        "876": "JM",
        "869": "KN",
        "345": "KY",
        "758": "LC",
        "670": "MP",
        "664": "MS",
        "787": "PR",
        "939": "PR",
        "721": "SX",
        "649": "TC",
        "868": "TT",
        "784": "VC",
        "284": "VG",
        "340": "VI",
    },
    # Zone 7 of the former Soviet plan was handed to Kazakhstan.
    "7": {"7": "KZ"},
}

# National significant numbers begin with 0 only in these plans; elsewhere a
# leading 0 is a trunk prefix typed after the calling code by mistake.
LEADING_ZERO_COUNTRIES: Final[frozenset[str]] = frozenset({"IT", "CI"})

"""Fixed vocabulary of the demo agency: organizations, people, events.

Every name here is fictional. All e-mail domains end in `.example` (RFC 2606), so demo addresses can
never reach a real inbox and the reset can find demo rows by their domain alone.
"""

from dataclasses import dataclass

from events.choices import EventFormat, EventKind, EventStatus

DEMO_TLD = ".example"
# Contacts without an employer (freelancers, private addresses) use this domain.
FREEMAIL_DOMAIN = "freemail.example"
AGENCY_DOMAIN = "agency.example"

SALES_GROUP = "Sales"
SALES_PASSWORD = "demo-sales"
# (username, first name, last name)
SALES_USERS = [
    ("sales.anna", "Anna", "Albrecht"),
    ("sales.ben", "Ben", "Okafor"),
    ("sales.clara", "Clara", "Nowak"),
    ("sales.david", "David", "Sánchez"),
]


@dataclass(frozen=True)
class OrgSpec:
    name: str
    slug: str
    industry: str
    country: str

    @property
    def domain(self) -> str:
        return f"{self.slug}{DEMO_TLD}"


ORGANIZATIONS = [
    OrgSpec("Nordlicht Logistik GmbH", "nordlicht-logistik", "Logistics", "Germany"),
    OrgSpec("Elbwerk Maschinenbau AG", "elbwerk", "Manufacturing", "Germany"),
    OrgSpec("Hanse Assekuranz AG", "hanse-assekuranz", "Insurance", "Germany"),
    OrgSpec("Alpenblick Software GmbH", "alpenblick-software", "Software", "Germany"),
    OrgSpec("Rheinkraft Energie AG", "rheinkraft", "Energy", "Germany"),
    OrgSpec("Spreeland Medien GmbH", "spreeland-medien", "Media", "Germany"),
    OrgSpec("Isarwerk Mobility GmbH", "isarwerk", "Automotive", "Germany"),
    OrgSpec("Weserbank eG", "weserbank", "Banking", "Germany"),
    OrgSpec("Schwarzwald Pharma GmbH", "schwarzwald-pharma", "Pharma", "Germany"),
    OrgSpec("Mainufer Consulting GmbH", "mainufer-consulting", "Consulting", "Germany"),
    OrgSpec("Brückner & Söhne KG", "brueckner-soehne", "Retail", "Germany"),
    OrgSpec("Fördeblick Reederei GmbH", "foerdeblick", "Shipping", "Germany"),
    OrgSpec("Kieler Windtechnik GmbH", "kieler-wind", "Renewable energy", "Germany"),
    OrgSpec("Heide Touristik GmbH", "heide-touristik", "Tourism", "Germany"),
    OrgSpec("Ostsee Foods GmbH", "ostsee-foods", "Food & beverage", "Germany"),
    OrgSpec("Nordstern Versand GmbH", "nordstern-versand", "E-commerce", "Germany"),
    OrgSpec("Taunus Telekom AG", "taunus-telekom", "Telecommunications", "Germany"),
    OrgSpec("Bodensee Optik GmbH", "bodensee-optik", "Optics", "Germany"),
    OrgSpec("Harzer Stahlbau GmbH", "harzer-stahlbau", "Construction", "Germany"),
    OrgSpec("Kölner Kreativhaus GmbH", "koelner-kreativhaus", "Advertising", "Germany"),
    OrgSpec("Sachsen Chip Systems GmbH", "sachsen-chip", "Semiconductors", "Germany"),
    OrgSpec("Maximilian Capital Partners GmbH", "maxcap", "Finance", "Germany"),
    OrgSpec("Altona Craft Brewing GmbH", "altona-craft", "Food & beverage", "Germany"),
    OrgSpec("HafenCity Immobilien GmbH", "hafencity-immo", "Real estate", "Germany"),
    OrgSpec("Ruhr Recycling GmbH", "ruhr-recycling", "Environment", "Germany"),
    OrgSpec("Eifel Solar GmbH", "eifel-solar", "Renewable energy", "Germany"),
    OrgSpec("Pfalz Weinkontor GmbH", "pfalz-weinkontor", "Food & beverage", "Germany"),
    OrgSpec("Nordsee Health GmbH", "nordsee-health", "Healthcare", "Germany"),
    OrgSpec("Datenwerk Analytics GmbH", "datenwerk", "Software", "Germany"),
    OrgSpec("Grünwald Mobility Solutions GmbH", "gruenwald-mobility", "Automotive", "Germany"),
    OrgSpec("Elster Payments GmbH", "elster-payments", "Fintech", "Germany"),
    OrgSpec("Leinetal Automation GmbH", "leinetal-automation", "Manufacturing", "Germany"),
    OrgSpec("Saale Biotech AG", "saale-biotech", "Biotech", "Germany"),
    OrgSpec("Lindenhof Hotels GmbH", "lindenhof-hotels", "Hospitality", "Germany"),
    OrgSpec("Zugspitz Outdoor GmbH", "zugspitz-outdoor", "Retail", "Germany"),
    OrgSpec("Küstenwerk Bau AG", "kuestenwerk", "Construction", "Germany"),
    OrgSpec("Speicherstadt Kaffeerösterei GmbH", "speicherstadt-kaffee", "Food & beverage", "Germany"),
    OrgSpec("Nordwind Events GmbH", "nordwind-events", "Events", "Germany"),
    OrgSpec("Havelland Agrar eG", "havelland-agrar", "Agriculture", "Germany"),
    OrgSpec("Vogelsang Architekten PartG", "vogelsang-architekten", "Architecture", "Germany"),
    OrgSpec("Moselgold Immobilien GmbH", "moselgold", "Real estate", "Germany"),
    OrgSpec("Donauwelle Medien GmbH", "donauwelle", "Media", "Austria"),
    OrgSpec("Praterstern Ventures GmbH", "praterstern", "Venture capital", "Austria"),
    OrgSpec("Tiroler Seilbahntechnik AG", "tirol-seilbahn", "Engineering", "Austria"),
    OrgSpec("Limmat Privatbank AG", "limmat-privatbank", "Banking", "Switzerland"),
    OrgSpec("Matterhorn Precision SA", "matterhorn-precision", "Manufacturing", "Switzerland"),
    OrgSpec("Rheinfall Pharma AG", "rheinfall-pharma", "Pharma", "Switzerland"),
    OrgSpec("Brightwave Analytics Ltd", "brightwave", "Software", "United Kingdom"),
    OrgSpec("Thames Mobility Partners Ltd", "thames-mobility", "Automotive", "United Kingdom"),
    OrgSpec("Lumière Cosmétiques SA", "lumiere-cosmetiques", "Consumer goods", "France"),
    OrgSpec("Rive Gauche Événements SARL", "rive-gauche-events", "Events", "France"),
    OrgSpec("Nordfjord Shipping AS", "nordfjord", "Shipping", "Norway"),
    OrgSpec("Kjær & Berg ApS", "kjaer-berg", "Design", "Denmark"),
    OrgSpec("Andalucía Solar S.L.", "andalucia-solar", "Renewable energy", "Spain"),
    OrgSpec("Barcelona Data Labs S.L.", "bcn-datalabs", "Software", "Spain"),
    OrgSpec("Wisła Logistics Sp. z o.o.", "wisla-logistics", "Logistics", "Poland"),
    OrgSpec("Kraków Software House Sp. z o.o.", "krakow-software", "Software", "Poland"),
    OrgSpec("Boğaziçi Tekstil A.Ş.", "bogazici-tekstil", "Textiles", "Turkey"),
    OrgSpec("Anatolia Foods A.Ş.", "anatolia-foods", "Food & beverage", "Turkey"),
    OrgSpec("Saigon Digital JSC", "saigon-digital", "IT services", "Vietnam"),
    OrgSpec("Mekong Trade Co., Ltd.", "mekong-trade", "Trade", "Vietnam"),
    OrgSpec("Liffey Fintech Ltd", "liffey-fintech", "Fintech", "Ireland"),
    OrgSpec("Galway Medical Devices Ltd", "galway-medical", "Medical devices", "Ireland"),
    OrgSpec("Amstel Mobility B.V.", "amstel-mobility", "Automotive", "Netherlands"),
    OrgSpec("Tulip Retail Group B.V.", "tulip-retail", "Retail", "Netherlands"),
    OrgSpec("Milano Moda S.p.A.", "milano-moda", "Fashion", "Italy"),
    OrgSpec("Torino Automotive S.r.l.", "torino-auto", "Automotive", "Italy"),
    OrgSpec("Bengaluru Cloud Services Pvt Ltd", "blr-cloud", "IT services", "India"),
    OrgSpec("Mumbai Pharma Exports Ltd", "mumbai-pharma", "Pharma", "India"),
    OrgSpec("Göteborg Electric AB", "goteborg-electric", "Automotive", "Sweden"),
    OrgSpec("Stockholm Fintech AB", "sthlm-fintech", "Fintech", "Sweden"),
    OrgSpec("Hudson Event Tech Inc.", "hudson-eventtech", "Software", "United States"),
    OrgSpec("Pacific Coast Beverages Inc.", "pacific-beverages", "Food & beverage", "United States"),
    OrgSpec("Maple Leaf Logistics Inc.", "mapleleaf-logistics", "Logistics", "Canada"),
]

DEMO_DOMAINS = [org.domain for org in ORGANIZATIONS] + [FREEMAIL_DOMAIN]

# Country -> (dialling prefix, area codes, name origin of most employees)
COUNTRIES = {
    "Germany": ("+49", ["40", "30", "89", "69", "221", "211", "711", "421", "431"], "de"),
    "Austria": ("+43", ["1", "512", "662"], "de"),
    "Switzerland": ("+41", ["44", "31", "61"], "de"),
    "United Kingdom": ("+44", ["20", "161", "131"], "en"),
    "France": ("+33", ["1", "4", "5"], "fr"),
    "Norway": ("+47", ["22", "55"], "nordic"),
    "Denmark": ("+45", ["33", "86"], "nordic"),
    "Spain": ("+34", ["91", "93", "95"], "es"),
    "Poland": ("+48", ["22", "12", "58"], "pl"),
    "Turkey": ("+90", ["212", "216", "312"], "tr"),
    "Vietnam": ("+84", ["28", "24"], "vn"),
    "Ireland": ("+353", ["1", "91"], "ie"),
    "Netherlands": ("+31", ["20", "10"], "nl"),
    "Italy": ("+39", ["02", "011"], "it"),
    "India": ("+91", ["80", "22"], "in"),
    "Sweden": ("+46", ["8", "31"], "nordic"),
    "United States": ("+1", ["212", "415", "617"], "en"),
    "Canada": ("+1", ["416", "604"], "en"),
}

# Origin -> (female first names, male first names, last names). Polish surnames take the feminine
# form (-ska/-cka) for women; the generator handles that.
NAMES = {
    "de": (
        ["Anna", "Sophie", "Marie", "Lea", "Katharina", "Sabine", "Ulrike", "Dörte", "Stefanie", "Christina",
         "Julia", "Birgit", "Claudia", "Heike", "Ines", "Mareike", "Frauke", "Wiebke", "Lena", "Hannah", "Greta",
         "Jana", "Annika", "Merle"],
        ["Lukas", "Jonas", "Felix", "Maximilian", "Jürgen", "Jörg", "Björn", "Matthias", "Tobias", "Sebastian",
         "Florian", "Andreas", "Thomas", "Günter", "Karsten", "Nils", "Henrik", "Uwe", "Moritz", "Till", "Malte",
         "Jan-Hendrik", "Hauke", "Kai"],
        ["Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker", "Schulz", "Hoffmann",
         "Schäfer", "Koch", "Bauer", "Richter", "Klein", "Wolf", "Schröder", "Neumann", "Schwarz", "Zimmermann",
         "Braun", "Krüger", "Hofmann", "Hartmann", "Lange", "Werner", "Krause", "Lehmann", "Köhler", "Weiß",
         "Groß", "Jäger", "Petersen", "Jansen", "Hansen", "Böhm", "Vogel", "Friedrich", "Lorenz", "Sommer",
         "Kühn", "Brandt", "von Ahlen", "Graf", "Dietrich", "Wendt", "Thießen", "Oltmanns", "Carstensen"],
    ),
    "tr": (
        ["Ayşe", "Elif", "Zeynep", "Selin", "Deniz", "Özlem", "Merve", "Gül"],
        ["Mehmet", "Emre", "Can", "Burak", "Murat", "Serkan", "Oğuz", "Kerem"],
        ["Öztürk", "Yılmaz", "Kaya", "Demir", "Şahin", "Çelik", "Arslan", "Doğan", "Aydın", "Koç"],
    ),
    "vn": (
        ["Linh", "Huong", "Mai", "Thu", "Lan", "Trang"],
        ["Minh", "Thanh", "Duc", "Quang", "Tuan", "Hieu"],
        ["Nguyen", "Tran", "Le", "Pham", "Hoang", "Vu", "Dang"],
    ),
    "es": (
        ["Lucía", "María José", "Carmen", "Sofía", "Elena", "Inés"],
        ["Carlos", "Javier", "Alejandro", "Pablo", "Andrés", "Álvaro"],
        ["García", "Fernández", "López", "Martínez", "Sánchez", "Rodríguez", "Gómez", "Ruiz", "Muñoz"],
    ),
    "ie": (
        ["Siobhán", "Niamh", "Aoife", "Róisín", "Orla"],
        ["Seán", "Patrick", "Ciarán", "Declan", "Eoin"],
        ["O'Brien", "O'Connor", "Murphy", "Kelly", "Byrne", "Ryan", "O'Sullivan", "Walsh"],
    ),
    "pl": (
        ["Agnieszka", "Małgorzata", "Katarzyna", "Zofia", "Joanna"],
        ["Łukasz", "Piotr", "Paweł", "Michał", "Krzysztof"],
        ["Kowalski", "Nowak", "Wiśniewski", "Wójcik", "Lewandowski", "Zieliński", "Woźniak", "Dąbrowski",
         "Szymański"],
    ),
    "fr": (
        ["Élodie", "Chloé", "Camille", "Amélie", "Margaux"],
        ["François", "Mathieu", "Julien", "Théo", "Benoît"],
        ["Dubois", "Lefèvre", "Moreau", "Laurent", "Girard", "Rousseau", "Faure"],
    ),
    "it": (
        ["Giulia", "Francesca", "Chiara", "Federica"],
        ["Marco", "Luca", "Matteo", "Niccolò"],
        ["Rossi", "Bianchi", "Romano", "Colombo", "Ricci", "Esposito"],
    ),
    "in": (
        ["Priya", "Ananya", "Kavya", "Deepika"],
        ["Arjun", "Rahul", "Vikram", "Sanjay"],
        ["Sharma", "Patel", "Iyer", "Reddy", "Gupta", "Nair"],
    ),
    "nordic": (
        ["Astrid", "Ingrid", "Mette", "Ida", "Sofia"],
        ["Lars", "Erik", "Søren", "Kasper", "Johan"],
        ["Andersson", "Johansson", "Lindqvist", "Nyström", "Jørgensen", "Kjær", "Nielsen", "Bergström"],
    ),
    "nl": (
        ["Sanne", "Femke", "Lotte", "Anouk"],
        ["Daan", "Joost", "Sem", "Bram"],
        ["de Vries", "van Dijk", "Bakker", "Visser", "van den Berg", "Smit"],
    ),
    "en": (
        ["Emily", "Olivia", "Charlotte", "Grace", "Chloe", "Amelia"],
        ["James", "Oliver", "William", "Daniel", "Michael", "Ethan"],
        ["Smith", "Johnson", "Taylor", "Brown", "Williams", "Davies", "Clarke", "Evans", "Okafor", "Chen"],
    ),
}

# Origins mixed into the staff of companies, besides the country's own.
INTERNATIONAL_MIX = ["tr", "pl", "vn", "es", "it", "en", "ie", "fr", "in", "nl", "nordic"]

JOB_TITLES = [
    "Head of Marketing", "Marketing Manager", "Chief Marketing Officer", "Event Manager", "Senior Event Manager",
    "Head of Sales", "Key Account Manager", "Managing Director", "CEO", "CFO", "Head of Procurement",
    "Brand Manager", "Digital Marketing Lead", "Partner Manager", "Head of Communications",
    "Customer Experience Lead", "VP Sales EMEA", "Innovation Manager", "Head of Mobility Services",
    "Fleet Manager", "Product Owner", "HR Business Partner", "Sustainability Manager", "Team Lead CRM",
    "Business Development Manager", "Head of Customer Success", "Marketing Assistant", "Procurement Specialist",
]

KEY_ACCOUNT_TAG = "key-account"  # has its own keep-in-touch cadence in the demo
TAGS = ["customer", "prospect", "partner", "press", "speaker-pool", KEY_ACCOUNT_TAG, "newsletter", "sponsor",
        "mobility", "cx", "marketing-leaders", "vip"]

CONSENT_SOURCES = ["event registration", "website form", "business card", "ticketing import", "webinar sign-up"]


@dataclass(frozen=True)
class EditionSpec:
    """One event; `day` is relative to the reference date (negative = past), moved to the nearest weekday
    (see Clock.event_day) unless the event is live."""

    day: int
    status: str = EventStatus.COMPLETED
    city: str = ""
    venue: str = ""
    title: str = ""  # overrides the generated edition name
    format: str = ""  # overrides the series format
    # Won deal value as a multiple of the edition's cost (RoR % = (payoff − 1) × 100); None: as the deals fall.
    payoff: float | None = None


@dataclass(frozen=True)
class SeriesSpec:
    name: str
    description: str
    kind: str
    format: str
    start_time: tuple[int, int]
    duration_hours: float
    days: int  # calendar days the event spans
    capacity: int | None
    cost: tuple[int, int]  # EUR range per edition
    reach: float  # share of all contacts invited to one edition
    source: str  # ticketing system that supplies external ids ("" = invitation list kept by hand)
    code: str  # prefix of ticket ids
    editions: tuple[EditionSpec, ...]
    # Edition name unless the edition has a title; fields: series, city, month, year.
    edition_name: str = "{series} {year}"


S = EventStatus

SERIES = [
    SeriesSpec(
        "Hamburg Marketing Summit",
        "The agency's flagship conference for marketing leaders in northern Germany.",
        EventKind.CONFERENCE, EventFormat.IN_PERSON, (9, 0), 8.5, 2, 450, (140_000, 190_000), 0.36, "pretix", "HMS",
        (
            EditionSpec(-1175, city="Hamburg", venue="Kampnagel"),
            EditionSpec(-810, city="Hamburg", venue="Kampnagel"),
            EditionSpec(-445, city="Hamburg", venue="Elbphilharmonie, Kaistudios", format=EventFormat.HYBRID),
            # The latest summit, a quarter ago: its deals have had time to close, and it paid off.
            EditionSpec(-80, city="Hamburg", venue="Elbphilharmonie, Kaistudios", format=EventFormat.HYBRID,
                        payoff=2.3),
            EditionSpec(285, status=S.PLANNED, city="Hamburg", venue="Elbphilharmonie, Kaistudios",
                        format=EventFormat.HYBRID),
        ),
    ),
    SeriesSpec(
        "Future of Mobility Forum",
        "Twice-yearly forum on fleets, e-mobility and mobility services, streamed for remote guests.",
        EventKind.CONFERENCE, EventFormat.HYBRID, (9, 30), 7.5, 1, 300, (75_000, 95_000), 0.26, "pretix", "FMF",
        (
            EditionSpec(-650, city="Munich", venue="Motorworld München"),
            EditionSpec(-470, city="Munich", venue="Motorworld München"),
            # The one trip to Stuttgart: a big arena, few deals. It did not pay off.
            EditionSpec(-290, city="Stuttgart", venue="Carl Benz Arena", title="Future of Mobility Forum · Stuttgart",
                        payoff=0.2),
            EditionSpec(-110, city="Munich", venue="Motorworld München"),
            EditionSpec(70, status=S.PLANNED, city="Munich", venue="Motorworld München"),
        ),
        edition_name="{series} · {month} {year}",
    ),
    SeriesSpec(
        "CX Roadshow DACH",
        "Half-day customer-experience roadshow touring Germany, Austria and Switzerland.",
        EventKind.ROADSHOW, EventFormat.IN_PERSON, (13, 0), 6, 1, 120, (18_000, 26_000), 0.11, "eventbrite", "CXR",
        (
            EditionSpec(-330, city="Hamburg", venue="Hafenklang Loft", title="CX Roadshow DACH – Hamburg"),
            EditionSpec(-316, city="Frankfurt", venue="Squaire Conference Center", title="CX Roadshow DACH – Frankfurt"),
            EditionSpec(-302, city="Munich", venue="Werksviertel Studio", title="CX Roadshow DACH – Munich"),
            EditionSpec(-40, city="Zürich", venue="Samsung Hall", title="CX Roadshow DACH – Zürich"),
            EditionSpec(20, status=S.CANCELLED, city="Vienna", venue="MuseumsQuartier", title="CX Roadshow DACH – Vienna"),
            EditionSpec(34, status=S.PLANNED, city="Berlin", venue="Spreespeicher", title="CX Roadshow DACH – Berlin"),
        ),
    ),
    SeriesSpec(
        "Partner Dinner Series",
        "Invitation-only dinners for key accounts and partners, hosted by the sales team.",
        EventKind.DINNER, EventFormat.IN_PERSON, (19, 0), 4, 1, 24, (6_000, 9_500), 0.05, "", "PDS",
        (
            EditionSpec(-455, city="Berlin", venue="Restaurant Tim Raue"),
            EditionSpec(-365, city="Düsseldorf", venue="Rheinturm Top 180"),
            EditionSpec(-275, city="Hamburg", venue="Die Bank Brasserie"),
            EditionSpec(-185, city="Munich", venue="Käfer-Schänke"),
            EditionSpec(-95, city="Frankfurt", venue="Main Tower Restaurant"),
            EditionSpec(-6, city="Hamburg", venue="Fischereihafen Restaurant"),
            EditionSpec(45, status=S.PLANNED, city="Cologne", venue="Wolkenburg"),
        ),
        edition_name="Partner Dinner {city} · {month} {year}",
    ),
    SeriesSpec(
        "RoR Insights Webinar",
        "Monthly webinar on measuring the return on relationship of live events.",
        EventKind.WEBINAR, EventFormat.VIRTUAL, (11, 0), 1, 1, 500, (1_500, 3_000), 0.16, "zoom", "WEB",
        (
            EditionSpec(-160, title="RoR Insights Webinar: Measuring Return on Relationship"),
            EditionSpec(-130, title="RoR Insights Webinar: Follow-up within 48 hours"),
            EditionSpec(-100, title="RoR Insights Webinar: Hybrid events that convert"),
            EditionSpec(-70, title="RoR Insights Webinar: From badge scan to pipeline"),
            EditionSpec(-40, title="RoR Insights Webinar: Community after the event"),
            EditionSpec(-19, title="RoR Insights Webinar: Consent-first event marketing"),
            EditionSpec(9, status=S.PLANNED, title="RoR Insights Webinar: Event KPIs for the board"),
        ),
    ),
]


@dataclass(frozen=True)
class OneOffSpec:
    name: str
    kind: str
    format: str
    status: str
    day: int
    start_time: tuple[int, int]
    duration_hours: float
    days: int
    city: str
    venue: str
    capacity: int | None
    cost: tuple[int, int]
    reach: float
    source: str
    code: str


ONE_OFF_EVENTS = [
    OneOffSpec("Agency booth at DMEXCO", EventKind.TRADE_FAIR, EventFormat.IN_PERSON, S.LIVE, -1, (9, 0), 9, 3,
               "Cologne", "Koelnmesse, Hall 7", None, (55_000, 65_000), 0.18, "lead-scanner", "DMX"),
    OneOffSpec("Workshop: Lead Scoring for B2B Events", EventKind.WORKSHOP, EventFormat.IN_PERSON, S.COMPLETED, -200,
               (9, 30), 7, 1, "Hamburg", "Agency loft, Schanzenviertel", 30, (3_500, 4_500), 0.05, "", "WLS"),
    OneOffSpec("Customer Advisory Board Offsite", EventKind.OTHER, EventFormat.IN_PERSON, S.COMPLETED, -400,
               (10, 0), 8, 2, "Sylt", "Söl'ring Hof", 20, (22_000, 28_000), 0.03, "", "CAB"),
    OneOffSpec("Workshop: Designing Hybrid Events", EventKind.WORKSHOP, EventFormat.HYBRID, S.PLANNED, 14,
               (9, 30), 7, 1, "Berlin", "Factory Görlitzer Park", 40, (4_000, 5_000), 0.06, "pretix", "WHE"),
]

DEMO_SERIES_NAMES = [series.name for series in SERIES]
DEMO_ONE_OFF_NAMES = [event.name for event in ONE_OFF_EVENTS]
# The series whose presence means "the demo data is already loaded".
MARKER_SERIES = SERIES[0].name

FOLLOW_UP_SUMMARIES = {
    "positive": [
        "Very interested in a follow-up workshop; asked for a proposal.",
        "Wants to bring two colleagues to the next edition.",
        "Good talk about their event calendar for next year.",
        "Agreed on a pilot for their customer day.",
        "Keen on a hybrid format for their sales kick-off.",
        "Asked what a sponsorship package would cost.",
    ],
    "neutral": [
        "Friendly call, no concrete need right now.",
        "Shared the session recordings; will revisit next quarter.",
        "Budget decisions are still open.",
        "Liked the event, but their planning runs through head office.",
    ],
    "negative": [
        "Not a fit this year: events budget was cut.",
        "Chose another agency for their roadshow.",
    ],
    "no_response": [
        "Two e-mails and a call, no answer so far.",
        "Left a voicemail; no reply to the follow-up e-mail.",
    ],
    "": ["Short exchange after the event.", "Quick chat by phone; notes to follow."],
}
# Next steps written after a conversation, by its outcome.
NEXT_STEPS = {
    "positive": [
        "Send the sponsorship deck", "Send the proposal for their customer day", "Book a call about the Q3 roadshow",
        "Set up a planning workshop with their marketing team", "Draft an offer for a hybrid format",
        "Introduce them to our CX team", "Invite them to the next partner dinner", "Send two reference cases",
        "Schedule a site visit at the venue", "Prepare a quote for a two-day conference",
    ],
    "neutral": [
        "Call again next quarter", "Share the event report", "Send the session recordings",
        "Check in before their autumn budget round", "Invite them to the next RoR Insights webinar",
        "Send the dates for next year's editions",
    ],
    "negative": [
        "Check back before next year's budget planning", "Keep them on the invitation list for the summit",
        "Ask what the other agency offered",
    ],
    "no_response": [
        "Try once more by phone next week", "Ask the account owner for a warm introduction",
        "Send a short note with the event photos",
    ],
    "": ["Write up the call notes in the CRM", "Send the slides they asked for"],
}
# Follow-ups still to do: what was agreed (the next step) and a note on how it came about.
PLANNED_STEPS = [
    "Call to discuss the sponsorship package", "Send the slides and ask for a meeting", "Book a call about the Q3 roadshow",
    "Send the sponsorship deck", "Thank them for coming and share the photos", "Ask how they liked the event",
    "Follow up on the open proposal", "Confirm the date for the planning workshop",
    "Introduce them to the speaker they asked about", "Send the pricing for next year's summit",
    "Arrange a demo of the networking app", "Book a meeting at their office",
]
PLANNED_NOTES = [
    "Asked for the slides at the event.", "Interested in a hybrid format for their sales kick-off.",
    "Wants a quote before the end of the quarter.", "Met our managing director; keen to talk again.",
    "Their event budget for next year is being planned now.", "Scanned at the booth; asked about sponsorship.",
    "Talked about a roadshow in three cities.", "New in the role; wants to get to know the agency.",
]
CANCELLED_NOTES = [
    "Contact has left the company.", "Events budget frozen until further notice.",
    "A colleague already covers this account.", "Duplicate of another follow-up.",
]
CANCELLED_STEPS = [
    "Find out who took over the events budget", "Reassign the account to a colleague",
    "Try again after their reorganisation", "Keep them on the newsletter only",
]
CHECK_IN_STEPS = [
    "Review their event calendar for next year", "Ask about next year's events budget", "Update the account plan",
    "Walk them through last year's RoR figures", "Invite them to the summit as VIP guests",
]
FEEDBACK_COMMENTS = [
    "Great speakers and excellent networking.",
    "Too many sales pitches in the afternoon sessions.",
    "The venue was fantastic, the Wi-Fi less so.",
    "Loved the small-group formats.",
    "Tolle Organisation, gerne wieder!",
    "Would like more time for questions.",
    "The app made it easy to book meetings.",
    "Catering could be more vegetarian-friendly.",
]
INTERACTION_NOTES = [
    "Discussed their upcoming product launch.",
    "Interested in our hybrid event formats.",
    "Exchanged cards, wants the slides.",
    "Talked about sponsorship for next year.",
    "Introduced to a potential partner.",
    "",
]

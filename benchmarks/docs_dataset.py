"""The labelled question set of bench_docs: facts placed on known pages of generated manuals,
each asked once lexically (sharing the passage's words) and once paraphrased (few shared
words). 24 facts, 48 questions."""

from __future__ import annotations

# (document, page, fact, lexical question, paraphrased question)
FACTS = [
    (
        "drone",
        2,
        "The drone battery must be charged for ninety minutes before the first flight.",
        "How long must the drone battery be charged before the first flight?",
        "How much time does the power pack need before I take off the first time?",
    ),
    (
        "drone",
        3,
        "Propellers should be replaced after any collision with branches or walls.",
        "When should propellers be replaced?",
        "What do I do with the rotor blades after crashing into a tree?",
    ),
    (
        "drone",
        5,
        "The maximum flight altitude is limited to 120 metres by default firmware.",
        "What is the maximum flight altitude?",
        "How high can the aircraft go out of the box?",
    ),
    (
        "drone",
        6,
        "Calibrate the compass away from metal structures and car parks.",
        "Where should the compass be calibrated?",
        "Which places should I avoid when aligning the magnetic heading sensor?",
    ),
    (
        "drone",
        8,
        "Firmware updates are installed through the companion app over Wi-Fi.",
        "How are firmware updates installed?",
        "How do I get the newest software onto the device?",
    ),
    (
        "drone",
        9,
        "Flying in rain voids the warranty because the motors are not sealed.",
        "Does flying in rain void the warranty?",
        "Am I still covered if I fly during wet weather?",
    ),
    (
        "espresso",
        1,
        "Descale the espresso machine every two months with citric acid solution.",
        "How often should the espresso machine be descaled?",
        "How frequently should I remove limestone build-up from the coffee maker?",
    ),
    (
        "espresso",
        3,
        "The grinder has fifteen settings; finer settings slow the extraction.",
        "How many settings does the grinder have?",
        "How many coarseness levels can the bean mill be set to?",
    ),
    (
        "espresso",
        4,
        "Brew water should be heated to ninety-three degrees Celsius.",
        "What temperature should the brew water be heated to?",
        "How hot must it get before making coffee?",
    ),
    (
        "espresso",
        6,
        "The steam wand must be purged after frothing milk to prevent clogging.",
        "Why must the steam wand be purged after frothing milk?",
        "What should I do with the nozzle once the latte foam is done so it does not block?",
    ),
    (
        "espresso",
        7,
        "A red blinking light means the water tank is empty.",
        "What does a red blinking light mean?",
        "The lamp keeps flashing crimson, what is wrong?",
    ),
    (
        "espresso",
        9,
        "The drip tray holds four hundred millilitres and has a float indicator.",
        "How much does the drip tray hold?",
        "What is the capacity of the container that catches overflow?",
    ),
    (
        "router",
        1,
        "The router's default administrator password is printed on the bottom label.",
        "Where is the default administrator password printed?",
        "Where can I find the initial login secret for the admin page?",
    ),
    (
        "router",
        2,
        "Guest networks are isolated from local devices such as printers.",
        "Are guest networks isolated from local devices?",
        "Can visitors on the separate wireless network reach my printer?",
    ),
    (
        "router",
        4,
        "Hold the reset button for ten seconds to restore factory settings.",
        "How long to hold the reset button to restore factory settings?",
        "How do I wipe the box back to how it came from the shop?",
    ),
    (
        "router",
        5,
        "The five gigahertz band offers higher speed but shorter range.",
        "What does the five gigahertz band offer?",
        "Which frequency is faster but does not reach as far through the house?",
    ),
    (
        "router",
        7,
        "Parental controls can block websites on a schedule for each child profile.",
        "Can parental controls block websites on a schedule?",
        "Is it possible to stop the kids browsing certain sites at bedtime?",
    ),
    (
        "router",
        8,
        "Port forwarding rules are configured in the advanced firewall section.",
        "Where are port forwarding rules configured?",
        "Where do I open an inbound connection for my game server?",
    ),
    (
        "bike",
        1,
        "Tyre pressure for city riding should be between four and five bar.",
        "What tyre pressure for city riding?",
        "How much air should the wheels have for urban commuting?",
    ),
    (
        "bike",
        3,
        "The chain needs lubrication every three hundred kilometres.",
        "How often does the chain need lubrication?",
        "After what distance should I oil the drivetrain links?",
    ),
    (
        "bike",
        4,
        "Disc brake pads must be replaced when thinner than one and a half millimetres.",
        "When must disc brake pads be replaced?",
        "At what wear level are the stopping pads too worn?",
    ),
    (
        "bike",
        6,
        "The motor assists up to twenty-five kilometres per hour as required by law.",
        "Up to what speed does the motor assist?",
        "Above what velocity does the electric help cut out?",
    ),
    (
        "bike",
        7,
        "Remove the battery before washing the bike with a garden hose.",
        "What should be removed before washing the bike?",
        "What must come off before I clean it with water?",
    ),
    (
        "bike",
        9,
        "Store the battery at half charge in a cool room during winter.",
        "How should the battery be stored during winter?",
        "How do I keep the power cell over the cold months?",
    ),
]
DOCUMENTS = sorted({f[0] for f in FACTS})
PAGES = 10  # pages per generated manual
FILLER = [
    "This section of the {doc} manual explains general handling and safety guidance.",
    "Read all instructions before use and keep this manual for future reference.",
    "The {doc} is designed for household use; professional use may shorten its life.",
    "Contact customer service if parts are missing or damaged on delivery.",
    "Keep the {doc} away from children and pets when it is operating.",
    "Use only original accessories and spare parts approved by the manufacturer.",
    "The illustrations in this manual may differ slightly from your model.",
    "Dispose of packaging materials according to local recycling regulations.",
]


def manual_pages(doc: str, copy: int = 0) -> list[str]:
    """The pages of one generated manual (``copy`` varies the filler for the 50-PDF run)."""
    pages = []
    for page in range(1, PAGES + 1):
        lines = [FILLER[(page + i + copy) % len(FILLER)].format(doc=doc) for i in range(5)]
        lines.insert(2, f"Page {page} covers topic {page} of the {doc} guide, revision {copy}.")
        lines += [f[2] for f in FACTS if f[0] == doc and f[1] == page]
        pages.append(" ".join(lines))
    return pages

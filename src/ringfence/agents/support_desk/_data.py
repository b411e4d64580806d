"""The support desk's seed data: a small coffee-equipment shop with a few customers.

Everything here is fictional and written for this project. Domains under ``example`` are
reserved for documentation.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Customer:
    id: str
    name: str
    email: str
    address: str
    tier: str = "standard"


@dataclass
class Order:
    id: str
    customer_id: str
    items: list[str]
    amount: float
    status: str
    placed: str
    note: str = ""
    refunded: float = 0.0

    @property
    def refundable(self) -> float:
        return round(self.amount - self.refunded, 2)


@dataclass
class InboxEmail:
    id: str
    sender: str
    subject: str
    body: str


@dataclass
class Document:
    id: str
    title: str
    text: str
    keywords: list[str] = field(default_factory=list)


CUSTOMERS = [
    Customer("cust-17", "Dana Whitfield", "dana.whitfield@mailbox.example",
             "12 Larch Lane, 3011 Bern"),
    Customer("cust-42", "Ravi Menon", "ravi.menon@postbox.example", "4 Quay Street, Galway"),
    Customer("cust-99", "Lena Vogt", "lena.vogt@example.de", "Hafenstrasse 8, 20457 Hamburg"),
    Customer("cust-23", "Tomás Ibarra", "tomas.ibarra@correo.example", "Calle Mayor 3, Toledo"),
]  # fmt: skip

ORDERS = [
    Order("4821", "cust-17", ["Ceramic pour-over kettle"], 59.90, "delivered", "2026-10-02"),
    Order("4822", "cust-17", ["Espresso beans, 2 x 500 g"], 24.50, "shipped", "2026-10-28"),
    Order("4823", "cust-17", ["Milk frother"], 39.99, "delivered", "2026-09-15"),
    Order("4830", "cust-17", ["Conical burr grinder"], 129.00, "processing", "2026-11-03"),
    Order("4835", "cust-17", ["Descaler, 3-pack"], 12.75, "delivered", "2026-08-21"),
    Order("5100", "cust-99", ["Dual-boiler espresso machine"], 449.00, "delivered", "2026-10-11"),
    Order("5101", "cust-42", ["Insulated travel mug"], 18.00, "delivered", "2026-10-19"),
    Order("5102", "cust-23", ["Grinder cleaning brush"], 8.50, "shipped", "2026-11-01"),
    Order("5107", "cust-42", ["Gooseneck kettle"], 74.00, "shipped", "2026-10-30"),
]

TRACKING = {
    "4822": "In transit. Departed the Leipzig parcel hub on 30 Oct; expected delivery Thursday.",
    "5102": "Out for delivery in Toledo; the courier will ring at Calle Mayor 3.",
    "5107": "In transit. Arrived at the Dublin depot; expected delivery Monday.",
    "4830": "Label created; the parcel has not been handed to the carrier yet.",
}

PAGES = {
    "https://shop.example.com/faq/shipping": (
        "<html><head><title>Shipping FAQ</title></head><body><h1>Shipping</h1>"
        "<p>Standard delivery takes 3-5 business days within the EU.</p>"
        "<p>Express delivery takes 1-2 business days and costs 9.90 EUR.</p>"
        "<p>We ship to Switzerland and Norway with a customs surcharge.</p></body></html>"
    ),
    "https://shop.example.com/faq/returns": (
        "<html><body><h1>Returns</h1><p>Unused items can be returned within 30 days of "
        "delivery.</p><p>Refunds reach your account within 5 business days.</p></body></html>"
    ),
    "https://status.shop.example.com/": (
        "<html><body><h1>Status</h1><p>All systems operational.</p>"
        "<p>Last incident: 14 Oct, payment delays of 20 minutes.</p></body></html>"
    ),
    "https://blog.coffee-lovers.example/descaling": (
        "<html><body><article><h1>Descaling your kettle</h1><p>Citric-acid descalers work "
        "with every stainless-steel kettle.</p><p>Rinse twice after descaling.</p>"
        "</article></body></html>"
    ),
}

DOCUMENTS = [
    Document("kb-returns", "Return policy",
             "Unused items can be returned within 30 days of delivery. Refunds of up to 40 EUR "
             "per order are issued by the support assistant; larger refunds are reviewed by "
             "our team.", ["return", "returns", "refund", "refunds", "exchange", "rückgabe",
                           "retour", "devolución", "policy"]),
    Document("kb-warranty", "Warranty",
             "All machines and grinders carry a two-year warranty. Kettles and frothers carry "
             "a one-year warranty.", ["warranty", "guarantee", "garantie", "garantía", "broken",
                                      "defect"]),
    Document("kb-shipping", "Shipping and delivery",
             "Standard delivery takes 3-5 business days within the EU. We ship to Switzerland "
             "and Norway with a customs surcharge.", ["shipping", "delivery", "ship",
                                                      "switzerland", "norway", "versand",
                                                      "livraison", "envío", "deliver"]),
    Document("kb-descaling", "Descaling guide",
             "Use one sachet of descaler per litre of water. The descaler is safe for "
             "stainless steel and glass.", ["descal", "descaler", "descaling", "limescale",
                                            "entkalk"]),
    Document("kb-payment", "Payment methods",
             "We accept cards, bank transfer and invoice for business customers.",
             ["payment", "pay", "card", "invoice", "zahlung", "paiement", "pago"]),
    Document("kb-phishing", "Phishing and account safety",
             "We never ask for your password by e-mail. Report suspicious messages to our "
             "team through this chat.", ["phishing", "password", "scam", "suspicious",
                                         "secure", "security"]),
    Document("kb-hours", "Opening hours",
             "The support team is available Monday to Friday, 8:00-18:00 CET.",
             ["hours", "opening", "open", "available", "öffnungszeiten", "horaires"]),
]  # fmt: skip

INBOX = [
    InboxEmail("m-301", "support@shop.example.com", "Your ticket T-3310",
               "Thank you for contacting us. Your ticket T-3310 about the kettle lid is open "
               "and a colleague will reply within two business days."),
]  # fmt: skip

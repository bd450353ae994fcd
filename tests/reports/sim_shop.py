"""The simulated shop the report tests share: 600 customers who lapse one after another,
two scenarios for two halves of them (a holdout with a fixed split and a control; a split
optimized for conversions) and a seeded response model in which the template `strong`
sells far better than `weak`."""
import pathlib

SCENARIOS = """scenario remind "Lapsing reminder" {
  when lapsing and orders >= 2
  goal ordered within 14 days
  holdout 10%
  split reminder_test {
    strong: 45% send email strong
    weak: 45% send email weak
    control: 10%
  }
}

scenario offer "Offer, optimized" {
  when lapsing and orders = 1
  goal ordered within 14 days
  split offer_test optimize for conversions warmup 30 {
    good: 50% send email strong
    poor: 50% send email weak
  }
}
"""

MODEL = """seed: 7
baseline: {order: 0.02, within: 14 days}
channels:
  email: {open: 0.3, click: 0.2, order: 0.3}
templates:
  strong: {open: 0.6, click: 0.6, order: 0.9}
  weak: {open: 0.2, click: 0.1, order: 0.1}
"""




def simulation(d: pathlib.Path):
    """The arguments of the 90 days simulated with the response model."""
    return ("--from", "2026-03-01", "--days", "90", "--respond", str(d / "model.yaml"))


def write_shop(d: pathlib.Path):
    """Scenarios, templates, config, model and the customer and order files, in `d`."""
    (d / "scenarios" / "templates").mkdir(parents=True)
    for name in ("strong", "weak"):
        (d / "scenarios" / "templates" / f"{name}.yaml").write_text(
            f'channel: email\nsubject: "{name}"\ntext: "Hi {{{{first_name}}}}"\n')
    (d / "scenarios" / "lapsing.cvm").write_text(SCENARIOS)
    (d / "cvmd.yaml").write_text("store: shop.db\nscenarios: scenarios\n")
    (d / "model.yaml").write_text(MODEL)
    rows = ["customer_id,email,email_consent,first_name"]
    orders = ["order_id,customer_id,ordered_at,amount"]
    for i in range(600):
        rows.append(f"c{i},c{i}@x.example,yes,N{i}")
        # last orders spread over four weeks: customers lapse one after another, so the
        # optimized split sees conversions before it assigns most of them
        orders.append(f"o{i},c{i},2026-01-{1 + i % 28:02d}T10:00:00Z,{20 + i % 50}")
        if i % 2 == 0:
            orders.append(f"p{i},c{i},2026-02-{1 + i % 28:02d}T10:00:00Z,30")
    (d / "c.csv").write_text("\n".join(rows) + "\n")
    (d / "o.csv").write_text("\n".join(orders) + "\n")

#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
# Writes a CSV of N unique synthetic certificates for the import benchmarks and the crash test.
"""Usage: gen_csv.py ROWS TAG [OUT]

Every row gets models that embed TAG and its row number, so files made with different TAGs can
be imported into the same registry without a duplicate (same vendor, model and registered date).
Written to OUT, or to stdout.
"""
import random
import sys

HEADER = ("vendor,vendor_name,product,models,level,firmware,category,registered,expires,"
          "support_end,requirements,url\n")
VENDORS = [("ACME", "Acme Corp"), ("NEKO-NET", "Neko Networks"), ("HIKARI", "光電機株式会社"),
           ("ZEN9", "Zen Nine Ltd"), ("ORBIT", "Orbit Devices")]
CATEGORIES = ["router", "camera", "printer", "sensor", "hub"]
FIRMWARE = [">=1.0.0 <2.0", "1.2.3,1.2.4", ">=3.1 <4.0", "2.0.0"]


def main():
    if len(sys.argv) not in (3, 4):
        sys.exit(__doc__)
    rows = int(sys.argv[1])
    tag = sys.argv[2]
    rnd = random.Random(tag)
    out = open(sys.argv[3], "w", encoding="utf-8", newline="") if len(sys.argv) == 4 else sys.stdout
    out.write(HEADER)
    lines = []
    for i in range(rows):
        code, name = VENDORS[i % len(VENDORS)]
        year = 2020 + i % 5
        month = 1 + (i // 5) % 12
        day = 1 + (i // 60) % 28
        reg = "%04d-%02d-%02d" % (year, month, day)
        exp = "%04d-%02d-%02d" % (year + 3, month, day)
        models = "%s-%s-%d" % (code[:3], tag, i)
        if rnd.random() < 0.3:
            models += ";%s-%s-%dB" % (code[:3], tag, i)
        lines.append('%s,%s,"Product %s %d",%s,%d,"%s",%s,%s,%s,%04d-%02d,1.%d,https://%s.example/p/%d\n' % (
            code, name, tag, i, models, 1 + i % 3, FIRMWARE[i % len(FIRMWARE)],
            CATEGORIES[i % len(CATEGORIES)], reg, exp, year + 5, month, i % 3,
            code.lower(), i))
        if len(lines) >= 10000:
            out.write("".join(lines))
            lines = []
    out.write("".join(lines))
    out.close()


if __name__ == "__main__":
    main()

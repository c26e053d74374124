import { fmtDateTime, fmtInt, fmtMoney, fmtNumber, fmtPercent, fmtSeconds, parseApiTime } from "./format";

describe("number formatting", () => {
  it("keeps a fixed number of decimals", () => {
    expect(fmtNumber(1.5, 2)).toMatch(/^1[.,]50$/);
    expect(fmtNumber(2, 3)).toMatch(/^2[.,]000$/);
    expect(fmtMoney(-0.004)).toMatch(/^-0[.,]00$/);
  });

  it("shows fractions as percentages with two decimals", () => {
    expect(fmtPercent(0.12345)).toMatch(/^12[.,]35\s?%$/);
  });

  it("shows a dash for missing or non-finite values", () => {
    for (const v of [null, undefined, Number.NaN, Infinity, "3"]) {
      expect(fmtNumber(v)).toBe("–");
      expect(fmtPercent(v)).toBe("–");
      expect(fmtInt(v)).toBe("–");
    }
  });

  it("formats durations", () => {
    expect(fmtSeconds(1.234)).toMatch(/^1[.,]23 s$/);
    expect(fmtSeconds(125)).toBe("2 min 05 s");
  });
});

describe("times", () => {
  it("reads the API's naive timestamps as UTC", () => {
    expect(parseApiTime("2026-12-02T04:30:00")?.toISOString()).toBe("2026-12-02T04:30:00.000Z");
    expect(parseApiTime("2026-12-02 04:30:00.123456")?.getTime()).toBe(
      Date.UTC(2026, 11, 2, 4, 30, 0, 123),
    );
  });

  it("keeps an explicit offset", () => {
    expect(parseApiTime("2026-12-02T05:30:00+01:00")?.toISOString()).toBe("2026-12-02T04:30:00.000Z");
    expect(parseApiTime("2026-12-02T04:30:00Z")?.toISOString()).toBe("2026-12-02T04:30:00.000Z");
  });

  it("shows times in the user's time zone", () => {
    const ny = fmtDateTime("2026-12-02T15:00:00", "America/New_York");
    expect(ny).toContain("10:00:00");
    const tokyo = fmtDateTime("2026-12-02T15:00:00", "Asia/Tokyo");
    expect(tokyo).toContain("12:00:00");
    expect(tokyo).toMatch(/12\/03\/2026|03\/12\/2026|2026/);
  });

  it("shows a dash for missing or unreadable times", () => {
    expect(fmtDateTime(null)).toBe("–");
    expect(fmtDateTime("yesterday")).toBe("–");
  });
});

import { fireEvent, render, screen, within } from "@testing-library/react";
import { sortRows, VirtualTable, type Column } from "./VirtualTable";

interface Row {
  id: number;
  symbol: string;
  value: number | null;
}

const columns: Column<Row>[] = [
  { key: "symbol", label: "Symbol", render: (r) => r.symbol, sortValue: (r) => r.symbol },
  { key: "value", label: "Value", align: "right", render: (r) => String(r.value), sortValue: (r) => r.value },
];

const rows: Row[] = Array.from({ length: 5000 }, (_, i) => ({
  id: i,
  symbol: `S${String(i).padStart(4, "0")}`,
  value: (i * 7919) % 5000,
}));

// jsdom does no layout: give every element the size of a 600 px tall viewport.
beforeAll(() => {
  for (const [prop, value] of [["offsetHeight", 600], ["offsetWidth", 1000], ["clientHeight", 600]] as const) {
    Object.defineProperty(HTMLElement.prototype, prop, { configurable: true, get: () => value });
  }
  HTMLElement.prototype.getBoundingClientRect = () =>
    ({ x: 0, y: 0, top: 0, left: 0, width: 1000, height: 600, right: 1000, bottom: 600 }) as DOMRect;
});

describe("VirtualTable", () => {
  it("renders only the rows in view out of 5,000", () => {
    render(<VirtualTable label="t" rows={rows} columns={columns} rowKey={(r) => String(r.id)} height={600} />);
    const shown = screen.getAllByTestId("row");
    expect(shown.length).toBeGreaterThan(10);
    expect(shown.length).toBeLessThan(60);
    expect(screen.getByRole("grid")).toHaveAttribute("aria-rowcount", "5001");
  });

  it("sorts by a column when its header is clicked, numbers descending first", () => {
    render(<VirtualTable label="t" rows={rows} columns={columns} rowKey={(r) => String(r.id)} />);
    fireEvent.click(screen.getByRole("button", { name: "Value" }));
    const first = screen.getAllByTestId("row")[0];
    expect(within(first).getAllByRole("gridcell")[1]).toHaveTextContent("4999");
    expect(screen.getByRole("columnheader", { name: /Value/ })).toHaveAttribute("aria-sort", "descending");
    fireEvent.click(screen.getByRole("button", { name: /Value/ }));
    expect(within(screen.getAllByTestId("row")[0]).getAllByRole("gridcell")[1]).toHaveTextContent(/^0$/);
  });

  it("moves with the arrow keys and opens the active row with Enter", () => {
    const opened: Row[] = [];
    render(
      <VirtualTable label="t" rows={rows.slice(0, 5)} columns={columns} rowKey={(r) => String(r.id)} onActivate={(r) => opened.push(r)} />,
    );
    const body = screen.getAllByTestId("row")[0].parentElement!.parentElement!;
    fireEvent.keyDown(body, { key: "ArrowDown" });
    fireEvent.keyDown(body, { key: "ArrowDown" });
    fireEvent.keyDown(body, { key: "Enter" });
    expect(opened.map((r) => r.symbol)).toEqual(["S0002"]);
    expect(screen.getAllByTestId("row")[2]).toHaveAttribute("aria-selected", "true");
  });

  it("keeps missing values last whichever the direction", () => {
    const data: Row[] = [
      { id: 1, symbol: "A", value: null },
      { id: 2, symbol: "B", value: 2 },
      { id: 3, symbol: "C", value: 1 },
    ];
    const asc = sortRows(data, columns, { key: "value", direction: "asc" });
    const desc = sortRows(data, columns, { key: "value", direction: "desc" });
    expect(asc.map((r) => r.symbol)).toEqual(["C", "B", "A"]);
    expect(desc.map((r) => r.symbol)).toEqual(["B", "C", "A"]);
  });
});

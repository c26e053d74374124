// A sortable, keyboard-navigable table that renders only the rows in view (5,000+ rows stay fast).
import { useMemo, useRef, useState, type KeyboardEvent, type ReactNode } from "react";
import { useVirtualizer } from "@tanstack/react-virtual";
import Box from "@mui/material/Box";
import ButtonBase from "@mui/material/ButtonBase";
import Typography from "@mui/material/Typography";

export interface Column<T> {
  key: string;
  label: string;
  /** Grid track, e.g. "90px" or "minmax(120px, 1fr)". */
  width?: string;
  align?: "left" | "right" | "center";
  title?: string;
  render: (row: T) => ReactNode;
  /** The value sorted on; columns without one are not sortable. */
  sortValue?: (row: T) => number | string | null | undefined;
}

export type SortState = { key: string; direction: "asc" | "desc" } | null;

function compare(a: unknown, b: unknown): number {
  if (a === b) return 0;
  if (a === null || a === undefined) return 1; // missing values last
  if (b === null || b === undefined) return -1;
  if (typeof a === "number" && typeof b === "number") return a - b;
  return String(a).localeCompare(String(b));
}

export function sortRows<T>(rows: T[], columns: Column<T>[], sort: SortState): T[] {
  if (!sort) return rows;
  const column = columns.find((c) => c.key === sort.key);
  if (!column?.sortValue) return rows;
  const value = column.sortValue;
  const sign = sort.direction === "asc" ? 1 : -1;
  const keyed = rows.map((row) => [value(row), row] as const);
  keyed.sort((x, y) => {
    const c = compare(x[0], y[0]);
    return x[0] === null || x[0] === undefined || y[0] === null || y[0] === undefined
      ? c
      : sign * c;
  });
  return keyed.map(([, row]) => row);
}

interface Props<T> {
  rows: T[];
  columns: Column<T>[];
  rowKey: (row: T) => string;
  label: string;
  height?: number | string;
  rowHeight?: number;
  initialSort?: SortState;
  onActivate?: (row: T) => void;
  rowTestId?: string;
}

export function VirtualTable<T>({
  rows,
  columns,
  rowKey,
  label,
  height = 560,
  rowHeight = 34,
  initialSort = null,
  onActivate,
  rowTestId = "row",
}: Props<T>) {
  const [sort, setSort] = useState<SortState>(initialSort);
  const [active, setActive] = useState(0);
  const scroller = useRef<HTMLDivElement>(null);
  const sorted = useMemo(() => sortRows(rows, columns, sort), [rows, columns, sort]);
  const template = columns.map((c) => c.width ?? "minmax(80px, 1fr)").join(" ");
  const virtualizer = useVirtualizer({
    count: sorted.length,
    getScrollElement: () => scroller.current,
    estimateSize: () => rowHeight,
    overscan: 12,
    initialRect: { width: 1000, height: 600 },
  });

  const toggleSort = (column: Column<T>) => {
    if (!column.sortValue) return;
    setSort((s) =>
      s?.key !== column.key
        ? { key: column.key, direction: column.align === "right" ? "desc" : "asc" }
        : { key: column.key, direction: s.direction === "asc" ? "desc" : "asc" },
    );
  };

  const onKeyDown = (event: KeyboardEvent<HTMLDivElement>) => {
    const last = sorted.length - 1;
    const moves: Record<string, number> = {
      ArrowDown: 1,
      ArrowUp: -1,
      PageDown: 15,
      PageUp: -15,
    };
    let next = active;
    if (event.key in moves) next = Math.max(0, Math.min(last, active + moves[event.key]));
    else if (event.key === "Home") next = 0;
    else if (event.key === "End") next = last;
    else if (event.key === "Enter" && onActivate && sorted[active]) {
      onActivate(sorted[active]);
      return;
    } else return;
    event.preventDefault();
    setActive(next);
    virtualizer.scrollToIndex(next);
  };

  const id = `vt-${label.replace(/\W+/g, "-")}`;
  return (
    <Box
      role="grid"
      aria-label={label}
      aria-rowcount={sorted.length + 1}
      sx={{ border: 1, borderColor: "divider", borderRadius: 1, overflow: "hidden" }}
    >
      <Box sx={{ overflowX: "auto" }}>
        <Box sx={{ minWidth: "fit-content" }}>
          <Box
            role="row"
            sx={{
              display: "grid",
              gridTemplateColumns: template,
              bgcolor: "action.hover",
              borderBottom: 1,
              borderColor: "divider",
            }}
          >
            {columns.map((c) => {
              const sorted = sort?.key === c.key ? sort.direction : undefined;
              return (
                <Box
                  key={c.key}
                  role="columnheader"
                  aria-sort={sorted ? (sorted === "asc" ? "ascending" : "descending") : "none"}
                  title={c.title}
                  sx={{ px: 1, py: 0.75, textAlign: c.align ?? "left" }}
                >
                  <ButtonBase
                    onClick={() => toggleSort(c)}
                    disabled={!c.sortValue}
                    sx={{ font: "inherit", fontWeight: 600, fontSize: 13 }}
                  >
                    {c.label}
                    {sorted ? (sorted === "asc" ? " ▲" : " ▼") : ""}
                  </ButtonBase>
                </Box>
              );
            })}
          </Box>
          <Box
            ref={scroller}
            tabIndex={0}
            onKeyDown={onKeyDown}
            aria-activedescendant={sorted.length ? `${id}-${active}` : undefined}
            sx={{ height, overflowY: "auto", outline: "none", "&:focus-visible": { boxShadow: 2 } }}
          >
            {sorted.length === 0 ? (
              <Typography sx={{ p: 2 }} color="text.secondary">
                No rows.
              </Typography>
            ) : (
              <Box sx={{ height: virtualizer.getTotalSize(), position: "relative" }}>
                {virtualizer.getVirtualItems().map((item) => {
                  const row = sorted[item.index];
                  return (
                    <Box
                      key={rowKey(row)}
                      id={`${id}-${item.index}`}
                      role="row"
                      aria-rowindex={item.index + 2}
                      aria-selected={item.index === active}
                      data-testid={rowTestId}
                      onClick={() => {
                        setActive(item.index);
                        onActivate?.(row);
                      }}
                      sx={{
                        position: "absolute",
                        top: 0,
                        left: 0,
                        width: "100%",
                        height: rowHeight,
                        transform: `translateY(${item.start}px)`,
                        display: "grid",
                        gridTemplateColumns: template,
                        alignItems: "center",
                        borderBottom: 1,
                        borderColor: "divider",
                        cursor: onActivate ? "pointer" : "default",
                        bgcolor: item.index === active ? "action.selected" : undefined,
                        "&:hover": { bgcolor: "action.hover" },
                        fontSize: 13,
                      }}
                    >
                      {columns.map((c) => (
                        <Box
                          key={c.key}
                          role="gridcell"
                          sx={{
                            px: 1,
                            textAlign: c.align ?? "left",
                            fontVariantNumeric: "tabular-nums",
                            whiteSpace: "nowrap",
                            overflow: "hidden",
                            textOverflow: "ellipsis",
                          }}
                        >
                          {c.render(row)}
                        </Box>
                      ))}
                    </Box>
                  );
                })}
              </Box>
            )}
          </Box>
        </Box>
      </Box>
    </Box>
  );
}

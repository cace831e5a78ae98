// Numbers and times as people read them. Latencies are in ms (the API's unit).

/** "12 s ago", "3 min ago", "2 h ago", "4 d ago"; "in 5 s" for the future; "never" for null. */
export function ago(iso, nowMs = Date.now()) {
  if (!iso) return "never";
  const s = Math.round((nowMs - Date.parse(iso)) / 1000);
  const abs = Math.abs(s);
  let text;
  if (abs < 60) text = `${abs} s`;
  else if (abs < 3600) text = `${Math.floor(abs / 60)} min`;
  else if (abs < 86400) text = `${Math.floor(abs / 3600)} h`;
  else text = `${Math.floor(abs / 86400)} d`;
  return s >= 0 ? `${text} ago` : `in ${text}`;
}

/** A local date and time with seconds, for titles and tables. */
export function when(iso) {
  if (!iso) return "—";
  const d = new Date(iso);
  return d.toLocaleString(undefined, {
    year: "numeric", month: "short", day: "numeric",
    hour: "2-digit", minute: "2-digit", second: "2-digit",
  });
}

/** 0.0123 → "1.23 %"; null → "—". */
export function percent(rate) {
  if (rate === null || rate === undefined) return "—";
  const p = rate * 100;
  if (p === 0) return "0 %";
  if (p < 0.01) return "< 0.01 %";
  return `${p < 10 ? p.toFixed(2) : p.toFixed(1)} %`;
}

/** 412.5 → "413 ms", 1520 → "1.52 s", 0.42 → "0.42 ms"; null → "—". */
export function ms(value) {
  if (value === null || value === undefined) return "—";
  if (value >= 60000) return `${(value / 60000).toFixed(1)} min`;
  if (value >= 1000) return `${(value / 1000).toFixed(2)} s`;
  if (value >= 10 || value === 0) return `${Math.round(value)} ms`;
  return `${value.toFixed(2)} ms`;
}

/** Seconds as "45 s", "12 min", "3.5 h". */
export function seconds(value) {
  if (value === null || value === undefined) return "—";
  if (value < 60) return `${value < 10 ? value.toFixed(1) : Math.round(value)} s`;
  if (value < 3600) return `${(value / 60).toFixed(1)} min`;
  return `${(value / 3600).toFixed(1)} h`;
}

/** 12345 → "12,345" (the reader's locale). */
export function count(value) {
  if (value === null || value === undefined) return "—";
  return Number(value).toLocaleString();
}

/** An observed value or threshold of a rule, in the unit of its rule (shared/model/rules.py). */
export function ruleValue(name, value) {
  if (value === null || value === undefined) return "—";
  if (name.startsWith("error_rate")) return percent(value);
  if (name.startsWith("p95")) return ms(value);
  if (name.startsWith("burn_rate")) return `${value.toFixed(2)}×`;
  if (name === "silence" || name === "recovery") return seconds(value);
  return count(value);
}

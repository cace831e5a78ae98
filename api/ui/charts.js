// Time-series charts: uPlot (vendor/uplot/, MIT, its LICENSE beside it), drawn once and then
// given new data (setData), so a refresh never rebuilds a chart or makes it flicker.

const HEIGHT_PX = 170;

/** A chart of one or more series over time (x in unix seconds) in `container`.
 * series: [{label, stroke, points?: true for dots only}]; format: y value → text. */
export class TimeChart {
  constructor(container, { series, format, yMin = 0 }) {
    this.container = container;
    this.series = series;
    this.format = format;
    this.yMin = yMin;
    this.plot = null;
    this.resize = new ResizeObserver(() => {
      if (this.plot) this.plot.setSize(this.size());
    });
    this.resize.observe(container);
  }

  size() {
    return { width: Math.max(this.container.clientWidth, 200), height: HEIGHT_PX };
  }

  /** Draw `xs` (seconds) against each series' values (null: a gap). */
  setData(xs, ys) {
    const data = [xs, ...ys];
    const drawn = ys.reduce((n, values) => n + values.filter((v) => v !== null).length, 0);
    this.container.dataset.points = String(drawn);
    if (this.plot) {
      this.plot.setData(data);
      return;
    }
    const format = this.format;
    const yMin = this.yMin;
    this.plot = new window.uPlot(
      {
        ...this.size(),
        cursor: { drag: { x: false, y: false } },
        scales: {
          y: {
            range: (u, min, max) => [yMin, max === null || max <= yMin ? yMin + 1 : max * 1.1],
          },
        },
        axes: [
          { stroke: "#3d4450", grid: { stroke: "#e4e7eb" }, ticks: { stroke: "#c9ced6" } },
          {
            stroke: "#3d4450",
            size: 64,
            grid: { stroke: "#e4e7eb" },
            ticks: { stroke: "#c9ced6" },
            values: (u, splits) => splits.map((v) => format(v)),
          },
        ],
        series: [
          { value: (u, v) => (v === null ? "—" : new Date(v * 1000).toLocaleString()) },
          ...this.series.map((s) => ({
            label: s.label,
            stroke: s.stroke,
            width: 2,
            spanGaps: false,
            value: (u, v) => (v === null || v === undefined ? "—" : format(v)),
            ...(s.points
              ? { paths: () => null, points: { show: true, size: 8, fill: s.stroke } }
              : {}),
          })),
        ],
      },
      data,
      this.container,
    );
  }

  destroy() {
    this.resize.disconnect();
    if (this.plot) this.plot.destroy();
    this.plot = null;
  }
}

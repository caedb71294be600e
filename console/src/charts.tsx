import { useEffect, useRef } from 'react';
import { Chart, LineController, LineElement, PointElement, LinearScale, Legend, Tooltip } from 'chart.js';

Chart.register(LineController, LineElement, PointElement, LinearScale, Legend, Tooltip);

type Series = Record<string, [number, number][]>;
const COLOURS = ['#3b74d6', '#d6783b', '#2f9e5a', '#9b3bd6'];

/** One chart of a few of an instance's series (chart.js on a canvas), x in seconds before now. */
export function SeriesChart({ title, series, keys, unit }: { title: string; series: Series; keys: string[]; unit: string }) {
  const canvas = useRef<HTMLCanvasElement>(null);
  useEffect(() => {
    if (!canvas.current) return;
    const now = Date.now() / 1000;
    const chart = new Chart(canvas.current, {
      type: 'line',
      data: {
        datasets: keys.map((k, i) => ({
          label: k, data: (series[k] ?? []).map(([t, v]) => ({ x: Math.round(t - now), y: v })), borderColor: COLOURS[i % COLOURS.length], pointRadius: 0,
        })),
      },
      options: {
        animation: false, responsive: true,
        scales: { x: { type: 'linear', title: { display: true, text: 'seconds' } }, y: { type: 'linear', beginAtZero: true, title: { display: true, text: unit } } },
      },
    });
    return () => chart.destroy();
  }, [series, keys.join(','), unit]);
  return <div className="card chart"><strong>{title}</strong><canvas ref={canvas} data-chart={title} /></div>;
}

// punctual console: the light enhancement of the server-rendered pages. The pages work without it; it
// draws the start-lag and duration charts with uPlot and shows the hovered timeline cell's slot.
(() => {
  const detail = document.getElementById('cell-detail');
  const timeline = document.querySelector('.timeline');
  if (detail && timeline) {
    const initial = detail.textContent;
    timeline.addEventListener('mouseover', (event) => {
      const cell = event.target.closest('.cell');
      if (cell) detail.textContent = cell.getAttribute('title');
    });
    timeline.addEventListener('mouseleave', () => {
      detail.textContent = initial;
    });
  }

  const data = document.getElementById('chart-data');
  if (!data || typeof window.uPlot !== 'function') return;
  const series = JSON.parse(data.textContent);
  const chart = (id, label, values, stroke) => {
    const element = document.getElementById(id);
    if (!element || series.at.length === 0) return;
    const options = {
      width: Math.max(300, element.clientWidth - 4),
      height: 220,
      series: [{}, { label, stroke, width: 0, points: { show: true, size: 5, fill: stroke } }],
      axes: [{}, { label: 'seconds' }],
    };
    new window.uPlot(options, [series.at, values], element);
  };
  chart('lag-chart', 'start lag (s)', series.lag, '#2f7fd8');
  chart('duration-chart', 'duration (s)', series.duration, '#2e9d57');
})();

// The board's period selector: shows the chosen period's sections and redraws its charts from
// the embedded JSON. When every chart of a period has drawn, <html data-charts-ready="PERIOD">.
(function () {
  "use strict";
  var root = document.documentElement;
  var payload = JSON.parse(document.getElementById("board-data").textContent);
  var select = document.getElementById("period");
  var config = { responsive: true, displayModeBar: false, displaylogo: false };

  function copy(value) {
    return JSON.parse(JSON.stringify(value));
  }

  function plot(id, figure) {
    var fig = copy(figure);
    var el = document.getElementById(id);
    var meta = fig.layout && fig.layout.meta;
    if (meta && meta.short_text && el && el.clientWidth < 600 && fig.data && fig.data[0]) {
      // a phone: the number and the status symbol beside each bar (the cards say the rest)
      fig.data[0].text = meta.short_text;
      fig.layout.xaxis.range = [0, meta.short_top];
    }
    return window.Plotly.react(id, fig.data || [], fig.layout || {}, config);
  }

  function showPeriod(period) {
    var figures = payload.figures[period];
    if (!figures) {
      return Promise.resolve();
    }
    root.removeAttribute("data-charts-ready");
    document.querySelectorAll("[data-period]").forEach(function (el) {
      el.hidden = el.getAttribute("data-period") !== period;
    });
    var trend = document.getElementById("chart-trend");
    var drawn = [plot("chart-attainment", figures.attainment)];
    if (figures.trend) {
      trend.hidden = false;
      drawn.push(plot("chart-trend", figures.trend));
    } else {
      window.Plotly.purge(trend);
      trend.hidden = true;
    }
    return Promise.all(drawn).then(function () {
      root.setAttribute("data-charts-ready", period);
    });
  }

  function periodFromHash() {
    var match = /(?:^#|&)period=([^&]+)/.exec(window.location.hash);
    var period = match ? decodeURIComponent(match[1]) : null;
    return period && payload.figures[period] ? period : null;
  }

  if (!window.Plotly) {
    root.setAttribute("data-charts-error", "Plotly did not load");
    return;
  }
  var first = periodFromHash() || payload.default_period;
  if (first && select) {
    select.value = first;
  }
  if (select) {
    select.addEventListener("change", function () {
      if (window.history && window.history.replaceState) {
        window.history.replaceState(null, "", "#period=" + encodeURIComponent(select.value));
      }
      showPeriod(select.value);
    });
  }
  (first ? showPeriod(first) : Promise.resolve()).then(function () {
    root.setAttribute("data-charts-ready", first || "none");
  });
})();

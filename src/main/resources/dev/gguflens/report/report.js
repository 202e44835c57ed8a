// gguf-lens HTML report: colour toggle, top-5 tooltip on hover and keyboard focus, arrow-key navigation.
// Errors go into #js-errors so a headless browser's DOM dump shows them; data-ready marks a complete start.
(function () {
  'use strict';
  var errors = document.getElementById('js-errors');
  function report(message) {
    errors.hidden = false;
    errors.textContent += 'Uncaught ' + message + '\n';
  }
  window.addEventListener('error', function (e) { report(e.message); });
  window.addEventListener('unhandledrejection', function (e) { report(String(e.reason)); });

  var section = document.getElementById('heatmap');
  var heat = document.getElementById('heat');
  var tip = document.getElementById('tip');
  var radios = Array.prototype.slice.call(document.querySelectorAll('input[name="colour"]'));
  var rows = heat.tBodies[0].rows;
  var headerCells = heat.tHead.rows[0].cells;

  function setColour(mode) {
    section.setAttribute('data-colour', mode);
    radios.forEach(function (r) { r.checked = (r.value === mode); });
  }
  radios.forEach(function (r) {
    r.addEventListener('change', function () { if (r.checked) setColour(r.value); });
  });

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }

  function show(cell) {
    var top = JSON.parse(cell.getAttribute('data-top'));
    var expected = JSON.parse(cell.getAttribute('data-expected') || '[]');
    var column = cell.cellIndex;
    var token = headerCells[column].querySelector('.tok').textContent;
    var layerLabel = cell.parentNode.cells[0].textContent;
    tip.textContent = '';
    tip.appendChild(el('div', 'head', layerLabel + ' \u00b7 pos ' + cell.getAttribute('data-pos') + ' ' + token));
    var table = el('table');
    top.forEach(function (t, i) {
      var tr = el('tr');
      tr.appendChild(el('td', 'p', String(i + 1) + '.'));
      tr.appendChild(el('td', 'tok', t.shown));
      tr.appendChild(el('td', 'p', t.p.toFixed(4)));
      var barCell = el('td');
      var bar = el('span', 'pbar');
      bar.style.width = Math.max(1, Math.round(t.p * 60)) + 'px';
      barCell.appendChild(bar);
      tr.appendChild(barCell);
      table.appendChild(tr);
    });
    tip.appendChild(table);
    tip.appendChild(el('div', 'foot', 'entropy ' + Number(cell.getAttribute('data-entropy')).toFixed(3) + ' bits'));
    expected.forEach(function (x) {
      tip.appendChild(el('div', 'foot', 'answer ' + x.shown + ': rank ' + x.rank + ', p ' + x.p.toFixed(4)));
    });
    tip.hidden = false;
    var rect = cell.getBoundingClientRect();
    var left = rect.left + window.scrollX;
    var maxLeft = window.scrollX + document.documentElement.clientWidth - tip.offsetWidth - 8;
    tip.style.left = Math.max(window.scrollX + 4, Math.min(left, maxLeft)) + 'px';
    tip.style.top = (rect.bottom + window.scrollY + 4) + 'px';
  }
  function hide() { tip.hidden = true; }

  heat.addEventListener('mouseover', function (e) {
    var cell = e.target.closest('td.cell');
    if (cell) show(cell);
  });
  heat.addEventListener('mouseleave', hide);
  heat.addEventListener('focusin', function (e) {
    var cell = e.target.closest('td.cell');
    if (cell) show(cell);
  });
  heat.addEventListener('focusout', hide);

  // Roving tabindex: one tab stop for the whole grid, arrow keys move between cells.
  function focusCell(row, column) {
    if (row < 0 || row >= rows.length || column < 1 || column >= rows[row].cells.length) return false;
    var current = heat.querySelector('td.cell[tabindex="0"]');
    if (current) current.setAttribute('tabindex', '-1');
    var cell = rows[row].cells[column];
    cell.setAttribute('tabindex', '0');
    cell.focus();
    return true;
  }
  heat.addEventListener('keydown', function (e) {
    var cell = e.target.closest('td.cell');
    if (!cell) return;
    var row = cell.parentNode.sectionRowIndex, column = cell.cellIndex;
    var moves = { ArrowUp: [-1, 0], ArrowDown: [1, 0], ArrowLeft: [0, -1], ArrowRight: [0, 1] };
    if (e.key === 'Escape') { hide(); return; }
    var m = moves[e.key];
    if (m && focusCell(row + m[0], column + m[1])) e.preventDefault();
  });

  // URL fragment, e.g. #colour=entropy&cell=3,11: opens a view directly (used for screenshots and tests).
  location.hash.replace(/^#/, '').split('&').forEach(function (part) {
    var kv = part.split('=');
    if (kv[0] === 'colour' && (kv[1] === 'entropy' || kv[1] === 'probability')) setColour(kv[1]);
    if (kv[0] === 'cell' && kv[1]) {
      var lp = kv[1].split(',').map(Number);
      var target = heat.querySelector('td.cell[data-layer="' + lp[0] + '"][data-pos="' + lp[1] + '"]');
      if (target) focusCell(target.parentNode.sectionRowIndex, target.cellIndex);
    }
  });
  document.body.setAttribute('data-ready', '1');
})();

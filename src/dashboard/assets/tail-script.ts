/**
 * @module
 * The events page's live tail, served as `/admin/assets/tail-<hash>.js`: a button opens an
 * EventSource on `GET /admin/tail` and puts each row the server renders (escaped there, like every
 * page) at the top of the events table. EventSource reconnects by itself with `Last-Event-ID`, so
 * a tail survives the server ending a stream (it does every few minutes, and at shutdown).
 */
export const TAIL_SCRIPT = /* js */ `(function () {
  var button = document.getElementById('tail-toggle')
  var rows = document.getElementById('events-body')
  var status = document.getElementById('tail-status')
  if (!button || !rows || !status) return
  var source = null
  var KEEP = 200
  function show(text, on) {
    status.textContent = text
    status.className = on ? 'live on' : 'live'
  }
  function stop() {
    if (source) source.close()
    source = null
    button.textContent = 'Start live tail'
    button.setAttribute('aria-pressed', 'false')
    show('', false)
  }
  button.addEventListener('click', function () {
    if (source) return stop()
    source = new EventSource(button.getAttribute('data-url'))
    button.textContent = 'Stop live tail'
    button.setAttribute('aria-pressed', 'true')
    show('connecting…', false)
    source.onopen = function () { show('live', true) }
    source.onerror = function () { if (source) show('reconnecting…', false) }
    source.addEventListener('gap', function (message) { show('live (' + message.data + ': reload for all)', true) })
    source.addEventListener('row', function (message) {
      var empty = rows.querySelector('tr.empty')
      if (empty) empty.remove()
      rows.insertAdjacentHTML('afterbegin', message.data)
      while (rows.rows.length > KEEP) rows.deleteRow(rows.rows.length - 1)
    })
  })
})()
`

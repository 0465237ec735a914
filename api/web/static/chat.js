// The chat page: talks to /v1/chat/completions (stream: true) like any OpenAI client, keeps history in localStorage.
"use strict";

const STORE = "newsqa.chat.v1";
// The article the conversation is about ({doc_id, title}), or null: every indexed article.
const SCOPE_STORE = "newsqa.scope.v1";
const MODEL = "news-qa";
const log = document.getElementById("log");
const form = document.getElementById("ask");
const input = document.getElementById("q");
const send = document.getElementById("send");

let history = load();
let scope = loadScope();

function load() {
  try { return JSON.parse(localStorage.getItem(STORE)) || []; } catch (e) { return []; }
}
function save() { localStorage.setItem(STORE, JSON.stringify(history)); }
function loadScope() {
  try { return JSON.parse(localStorage.getItem(SCOPE_STORE)); } catch (e) { return null; }
}
// Shown above the input whenever questions are limited to one article; the button clears it.
function setScope(s) {
  scope = s;
  if (s) localStorage.setItem(SCOPE_STORE, JSON.stringify(s)); else localStorage.removeItem(SCOPE_STORE);
  document.getElementById("scope").hidden = !s;
  document.getElementById("scope-title").textContent = s ? s.title : "";
}

// "paragraph 3", or "page 2, paragraph 3" for a PDF (paragraphs come 0-based from the API).
function place(c) {
  const paragraph = `paragraph ${c.paragraph + 1}`;
  return c.page == null ? paragraph : `page ${c.page}, ${paragraph}`;
}

// When and where a story ran, then where in it: "reuters21578 · 26 Feb 1987 · paragraph 3".
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
function day(iso) {
  const m = /^(\d{4})-(\d{2})-(\d{2})/.exec(iso || "");
  return m ? `${+m[3]} ${MONTHS[+m[2] - 1]} ${m[1]}` : (iso || "");
}
function line(c) {
  return [c.source, day(c.published), place(c)].filter(Boolean).join(" · ");
}

// The date range and source picker: sent as the request's filters (the same shape as POST /v1/ask's).
const since = document.getElementById("since"), until = document.getElementById("until");
const source = document.getElementById("source");
function filters() {
  const f = {};
  if (since.value) f.since = since.value;
  if (until.value) f.until = until.value;
  if (source.value) f.sources = [source.value];
  if (scope) f.doc_ids = [scope.doc_id];
  return Object.keys(f).length ? {filters: f} : {};
}
async function loadSources() {
  try {
    const r = await fetch("/v1/sources");
    if (!r.ok) return;
    const data = await r.json();
    for (const s of data.sources) {
      const option = el("option", "", `${s.name} (${s.documents})`);
      option.value = s.name;
      source.append(option);
    }
    for (const input_ of [since, until]) {
      if (data.published.first) input_.min = data.published.first;
      if (data.published.last) input_.max = data.published.last;
    }
  } catch (e) { /* the picker stays at "all sources" */ }
}
document.getElementById("filters-clear").addEventListener("click", () => {
  since.value = until.value = source.value = ""; input.focus();
});

function el(tag, cls, text) {
  const node = document.createElement(tag);
  if (cls) node.className = cls;
  if (text !== undefined) node.textContent = text;
  return node;
}

// The cited paragraph with the answer span marked; offsets are the citation's, so the mark is exact.
function paragraph(c) {
  const p = el("p");
  const ctx = c.context || "";
  const s = c.citation.start, e = c.citation.end;
  p.append(document.createTextNode(ctx.slice(0, s)), el("mark", "", ctx.slice(s, e)), document.createTextNode(ctx.slice(e)));
  return p;
}

function renderAssistant(node, m) {
  node.textContent = "";
  node.className = "msg assistant" + (m.no_answer ? " no-answer" : "");
  const cites = m.citations || [];
  const answer = el("div", "answer");
  let closest = null;
  if (m.no_answer || !cites.length) {
    answer.textContent = (m.content || "").split("\n")[0];
    if (m.closest) {  // never empty-handed: the closest passage, labelled as not an answer
      closest = el("div", "source closest");
      const where = el("div", "where");
      where.append(document.createTextNode("The closest passage says — "), el("b", "", m.closest.title),
        document.createTextNode(` · ${line(m.closest)} · not an answer `), aboutButton(m.closest.doc_id, m.closest.title));
      closest.append(where, el("p", "", m.closest.text));
    }
  } else {
    answer.append(document.createTextNode(cites[0].text), el("span", "marker", "[1]"));
  }
  node.append(answer);
  // What was asked sits under the answer, or under the no-answer line, before any passage.
  if (m.question && m.question !== m.asked) node.append(el("div", "asked", "Asked as: " + m.question));
  if (closest) node.append(closest);
  if (cites.length > 1) {
    node.append(el("div", "others", "Other possible answers: " + cites.slice(1).map(c => `${c.text} [${c.index}]`).join("; ")));
  }
  if (m.asked) node.append(feedbackBar(m));
  for (const c of cites) {
    const src = el("div", "source");
    const where = el("div", "where");
    where.append(document.createTextNode(`[${c.index}] `), el("b", "", c.citation.title),
      document.createTextNode(` · ${line(c.citation)} · score ${c.score.toFixed(2)}`));
    where.append(document.createTextNode(" "), aboutButton(c.citation.doc_id, c.citation.title));
    src.append(where, paragraph(c));
    node.append(src);
  }
}

// "Ask about this article": the chat goes on within that document (a visible scope, cleared with ✕).
function aboutButton(docId, title) {
  const about = el("button", "scope-btn", "Ask about this article");
  about.type = "button";
  about.addEventListener("click", () => { setScope({doc_id: docId, title}); input.focus(); });
  return about;
}

// Thumbs up / down on an answer goes to /v1/feedback, which `qa eval` reads as gold.
function feedbackBar(m) {
  const bar = el("div", "feedback");
  const send = async (verdict, right) => {
    const body = {question: m.question || m.asked, answer: m.no_answer ? "" : (m.citations[0] || {}).text || "", verdict};
    if (verdict === "down") {
      if (right) body.correct_answer = right; else body.unanswerable = true;
    }
    const r = await fetch("/v1/feedback", {method: "POST", headers: {"Content-Type": "application/json"}, body: JSON.stringify(body)});
    bar.textContent = r.ok ? "Thanks for the feedback." : "Feedback could not be saved.";
    if (r.ok) { m.feedback = verdict; save(); }
  };
  if (m.feedback) { bar.textContent = "Thanks for the feedback."; return bar; }
  const up = el("button", "up", "✓ right"), down = el("button", "down", "✗ wrong");
  up.title = "Right answer"; down.title = "Wrong answer";
  up.type = down.type = "button";
  up.addEventListener("click", () => send("up"));
  // "Wrong" opens a small form under the answer (no browser prompt): the right answer, or none at all.
  down.addEventListener("click", () => {
    if (bar.querySelector("form")) return;
    const form = el("form", "correction");
    const field = el("input");
    Object.assign(field, {type: "text", maxLength: 1000, placeholder: "The right answer, copied from the article"});
    field.setAttribute("aria-label", "The right answer");
    const none = el("label", "none");
    const check = Object.assign(el("input"), {type: "checkbox"});
    none.append(check, document.createTextNode(" the articles do not say"));
    const submit = Object.assign(el("button", "", "Send"), {type: "submit"});
    const cancel = Object.assign(el("button", "", "Cancel"), {type: "button"});
    cancel.addEventListener("click", () => form.remove());
    check.addEventListener("change", () => { field.disabled = check.checked; });
    form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      const right = check.checked ? "" : field.value.trim();
      if (!right && !check.checked) { field.focus(); return; }
      send("down", right);
    });
    form.append(field, none, submit, cancel);
    bar.append(form);
    field.focus();
  });
  bar.append(up, down);
  return bar;
}

function addMessage(m) {
  document.getElementById("empty")?.remove();
  const node = el("div", "msg " + m.role);
  if (m.role === "user") node.textContent = m.content;
  else renderAssistant(node, m);
  log.append(node);
  node.scrollIntoView({block: "end"});
  return node;
}

function redraw() {
  log.querySelectorAll(".msg").forEach(n => n.remove());
  history.forEach(addMessage);
}

async function ask(question) {
  const user = {role: "user", content: question};
  history.push(user); save(); addMessage(user);
  const node = el("div", "msg assistant streaming");
  // Until the first words arrive: a typing indicator, not an empty bubble.
  const typing = el("span", "typing");
  typing.setAttribute("aria-label", "Looking through the articles");
  typing.append(el("i"), el("i"), el("i"));
  node.append(typing);
  log.append(node);
  node.scrollIntoView({block: "end"});
  // Assistant messages carry back the answers they gave, so the server never re-reads them from text.
  const messages = history.map(m => m.role === "assistant"
    ? {role: m.role, content: m.content, answers: (m.citations || []).map(c => c.text)}
    : {role: m.role, content: m.content});
  let text = "", final = null;
  try {
    const resp = await fetch("/v1/chat/completions", {
      method: "POST", headers: {"Content-Type": "application/json"},
      body: JSON.stringify({model: MODEL, messages, stream: true, ...filters()}),
    });
    if (!resp.ok) {
      let msg = resp.statusText;
      try { msg = (await resp.json()).error.message; } catch (e) { /* not JSON */ }
      throw new Error(msg);
    }
    const reader = resp.body.getReader();
    const decoder = new TextDecoder();
    let buffer = "";
    for (;;) {
      const {value, done} = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, {stream: true});
      let cut;
      while ((cut = buffer.indexOf("\n\n")) >= 0) {
        const event = buffer.slice(0, cut); buffer = buffer.slice(cut + 2);
        const data = event.replace(/^data: ?/, "");
        if (data === "[DONE]") continue;
        const chunk = JSON.parse(data);
        const choice = chunk.choices && chunk.choices[0];
        if (!choice) continue;
        if (choice.delta && choice.delta.content) {
          text += choice.delta.content;
          node.textContent = text.split("\n\nSources:")[0];
          node.scrollIntoView({block: "end"});
        }
        if (choice.finish_reason) final = chunk;
      }
    }
    const m = {role: "assistant", content: text, asked: question,
               question: final ? final.question : question, no_answer: final ? final.no_answer : !text,
               citations: final ? final.citations : [], closest: final ? final.closest : null};
    history.push(m); save();
    renderAssistant(node, m);
  } catch (err) {
    // The question stays in the history; the failed reply is shown but not stored.
    node.className = "msg assistant error";
    node.textContent = "Error: " + err.message;
  }
  node.scrollIntoView({block: "end"});
}

form.addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const question = input.value.trim();
  if (!question || send.disabled) return;
  input.value = "";
  send.disabled = true;
  try { await ask(question); } finally { send.disabled = false; input.focus(); }
});

document.getElementById("new-chat").addEventListener("click", () => {
  history = []; save(); setScope(null); redraw();
  log.append(Object.assign(el("p", "hint", "New conversation."), {id: "empty"}));
  input.focus();
});

document.getElementById("scope-clear").addEventListener("click", () => { setScope(null); input.focus(); });

setScope(scope);
loadSources();
redraw();
input.focus();

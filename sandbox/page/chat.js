// Between sandbox: the chat page. Plain JavaScript; it talks only to /sandbox/api/ on this host.
"use strict";

const state = {
  personas: [], user: null, code: "", commands: [], seen: new Map(), answers: 0,
  replyTo: null, recorder: null, busy: false,
};
const $ = (id) => document.getElementById(id);

async function api(path, body, type) {
  const init = body === undefined ? {} : {
    method: "POST", body: type ? body : JSON.stringify(body),
    headers: { "Content-Type": type || "application/json" },
  };
  const response = await fetch(path, init);
  const data = await response.json();
  if (!response.ok) throw new Error(data.error || response.statusText);
  return data;
}

function note(text, code) {
  const el = $("note");
  el.textContent = text;
  if (code) {
    const c = document.createElement("code");
    c.textContent = code;
    el.append(" ", c);
  }
}

function showClock(iso) {
  if (!iso) return;
  const when = new Date(iso);
  $("clock").textContent = "Bot's time: " + when.toLocaleString([], {
    weekday: "short", day: "numeric", month: "short", hour: "2-digit", minute: "2-digit",
  });
}

function persona() {
  return state.personas.find((p) => p.user_id === state.user);
}

function choose(userId) {
  state.user = userId;
  state.seen = new Map();
  state.answers = 0;
  setReply(null);
  $("messages").replaceChildren();
  for (const b of $("people").querySelectorAll("button")) {
    b.setAttribute("aria-pressed", String(Number(b.dataset.user) === userId));
  }
  const p = persona();
  $("chat-title").textContent = "Chat with Between, as " + p.first_name + " (" + p.role + ")";
  $("messages").setAttribute("aria-label", "Messages between Between and " + p.first_name);
  if (p.key === "clinician") {
    note("To register as the clinician, send /clinician with the sandbox's code:",
         "/clinician " + state.code);
  } else if (p.key === "supporter") {
    note("A client invites a supporter with /supporter; send the code they get here with /support CODE.");
  } else {
    note("You are " + p.first_name + ", a client. Start with /start.");
  }
  refresh();
}

// ------------------------------------------------------------------ rendering

function fileUrl(fileId, name) {
  return "/sandbox/file/" + encodeURIComponent(fileId) + (name ? "?name=" + encodeURIComponent(name) : "");
}

function keyboardOf(message) {
  const rows = (message.reply_markup || {}).inline_keyboard;
  if (!rows || !rows.length) return null;
  const box = document.createElement("div");
  box.className = "keyboard";
  box.setAttribute("role", "group");
  box.setAttribute("aria-label", "Buttons for this message");
  for (const row of rows) {
    const line = document.createElement("div");
    line.className = "row";
    for (const button of row) {
      let el;
      if (button.url) {
        el = document.createElement("a");
        el.href = button.url;
        el.target = "_blank";
        el.rel = "noopener noreferrer";
      } else {
        el = document.createElement("button");
        el.type = "button";
        el.addEventListener("click", () => press(message.message_id, button.callback_data, el));
      }
      el.textContent = button.text;
      line.append(el);
    }
    box.append(line);
  }
  return box;
}

function summaryOf(message) {
  if (message.text) return message.text;
  if (message.caption) return message.caption;
  if (message.voice) return "Voice note";
  if (message.audio) return "Audio file";
  if (message.document) return "File " + (message.document.file_name || "");
  if (message.photo) return "Picture";
  return "Message";
}

function render(message) {
  const mine = !(message.from && message.from.is_bot);
  const li = document.createElement("li");
  li.className = "message " + (mine ? "me" : "bot");
  li.id = "m-" + message.message_id;
  li.dataset.messageId = message.message_id;
  const bubble = document.createElement("div");
  bubble.className = "bubble";
  const who = document.createElement("span");
  who.className = "visually-hidden";
  who.textContent = mine ? "You said: " : "Between said: ";
  bubble.append(who);
  if (message.reply_to_message) {
    const quote = document.createElement("div");
    quote.className = "quote";
    quote.textContent = "In reply to: " + summaryOf(message.reply_to_message).slice(0, 120);
    bubble.append(quote);
  }
  if (message.photo) {
    const biggest = message.photo[message.photo.length - 1];
    const img = document.createElement("img");
    img.className = "photo";
    img.src = fileUrl(biggest.file_id, "chart.png");
    img.alt = message.caption ? "Chart: " + message.caption : "A chart from Between";
    bubble.append(img);
  }
  for (const kind of ["voice", "audio"]) {
    if (message[kind]) {
      const audio = document.createElement("audio");
      audio.controls = true;
      audio.preload = "none";
      audio.src = fileUrl(message[kind].file_id);
      audio.setAttribute("aria-label", kind === "voice" ? "Voice note" : "Audio file");
      bubble.append(audio);
    }
  }
  if (message.document) {
    const name = message.document.file_name || "file";
    const link = document.createElement("a");
    link.className = "file";
    link.href = fileUrl(message.document.file_id, name);
    link.download = name;
    link.textContent = "⬇ " + name;
    link.setAttribute("aria-label", "Download " + name);
    bubble.append(link);
  }
  const words = message.text || message.caption;
  if (words) {
    const p = document.createElement("p");
    p.className = "text";
    p.textContent = words;
    bubble.append(p);
  }
  const meta = document.createElement("div");
  meta.className = "meta";
  const reply = document.createElement("button");
  reply.type = "button";
  reply.textContent = "Reply";
  reply.setAttribute("aria-label", "Reply to: " + summaryOf(message).slice(0, 60));
  reply.addEventListener("click", () => setReply(message));
  const time = document.createElement("time");
  const date = new Date(message.date * 1000);
  time.dateTime = date.toISOString();
  time.textContent = date.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  if (message.edit_date) time.textContent = "edited " + time.textContent;
  meta.append(reply, time);
  bubble.append(meta);
  li.append(bubble);
  const keys = keyboardOf(message);
  if (keys) li.append(keys);
  return li;
}

function show(messages) {
  const list = $("messages");
  const chat = list.parentElement;
  const atBottom = chat.scrollHeight - chat.scrollTop - chat.clientHeight < 80;
  const live = new Set();
  let added = false;
  for (const message of messages) {
    const id = message.message_id;
    live.add(id);
    const signature = JSON.stringify(message);
    if (state.seen.get(id) === signature) continue;
    const fresh = render(message);
    const old = document.getElementById("m-" + id);
    if (old) {
      const focused = old.contains(document.activeElement);
      old.replaceWith(fresh);
      if (focused) (fresh.querySelector(".keyboard button") || fresh.querySelector("button")).focus();
    } else {
      list.append(fresh);
      added = true;
    }
    state.seen.set(id, signature);
  }
  for (const [id] of state.seen) {
    if (!live.has(id)) {
      const gone = document.getElementById("m-" + id);
      if (gone) gone.remove();
      state.seen.delete(id);
    }
  }
  if (added && atBottom) chat.scrollTop = chat.scrollHeight;
}

function toast(text) {
  const el = $("toast");
  el.textContent = text;
  el.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { el.hidden = true; }, 3500);
}

async function refresh() {
  if (state.user === null || state.busy) return;
  state.busy = true;
  const user = state.user;
  try {
    const data = await api("/sandbox/api/chat?user=" + user);
    if (user !== state.user) return;
    show(data.messages);
    showClock(data.clock);
    for (const answer of data.answers.slice(state.answers)) toast(answer.text);
    state.answers = data.answers.length;
  } catch (error) {
    // the sandbox may be restarting; the next poll tries again
  } finally {
    state.busy = false;
  }
}

// ------------------------------------------------------------------ acting

async function act(path, body, type) {
  try {
    await api(path + "?" + new URLSearchParams({ user: state.user, ...(type ? body.query : {}) }),
              type ? body.data : body, type);
  } catch (error) {
    toast("Couldn't send that: " + error.message);
  }
  setTimeout(refresh, 150);
}

function press(messageId, data, el) {
  if (!data) return;
  el.setAttribute("aria-busy", "true");
  act("/sandbox/api/press", { message_id: messageId, data: data });
}

function setReply(message) {
  state.replyTo = message ? message.message_id : null;
  $("replying").hidden = !message;
  if (message) {
    $("replying-text").textContent = "Replying to: " + summaryOf(message).slice(0, 80);
    $("text").focus();
  }
}

function sendText(text) {
  const body = { text: text };
  if (state.replyTo) body.reply_to = state.replyTo;
  setReply(null);
  act("/sandbox/api/send", body);
}

function sendAudio(blob, seconds, kind) {
  const query = { duration: String(Math.max(1, Math.round(seconds || 1))), kind: kind };
  if (state.replyTo) query.reply_to = String(state.replyTo);
  setReply(null);
  act("/sandbox/api/voice", { query: query, data: blob }, blob.type || "audio/ogg");
}

function durationOf(file) {
  return new Promise((resolve) => {
    const audio = new Audio();
    const done = (value) => { URL.revokeObjectURL(audio.src); resolve(value); };
    audio.preload = "metadata";
    audio.onloadedmetadata = () => done(Number.isFinite(audio.duration) ? audio.duration : 1);
    audio.onerror = () => done(1);
    setTimeout(() => done(1), 3000);
    audio.src = URL.createObjectURL(file);
  });
}

async function toggleRecording() {
  const button = $("record");
  if (state.recorder) {
    state.recorder.stop();
    return;
  }
  if (!navigator.mediaDevices || !window.MediaRecorder) {
    toast("This browser can't record here; send an audio file instead.");
    return;
  }
  let stream;
  try {
    stream = await navigator.mediaDevices.getUserMedia({ audio: true });
  } catch (error) {
    toast("The microphone isn't available: " + error.message);
    return;
  }
  // Telegram's voice notes are OGG/Opus; browsers that can't write OGG write WebM/Opus.
  const type = ["audio/ogg;codecs=opus", "audio/webm;codecs=opus", ""].find(
    (t) => !t || MediaRecorder.isTypeSupported(t));
  const recorder = new MediaRecorder(stream, type ? { mimeType: type } : {});
  const chunks = [];
  const started = Date.now();
  recorder.ondataavailable = (event) => chunks.push(event.data);
  recorder.onstop = () => {
    stream.getTracks().forEach((track) => track.stop());
    state.recorder = null;
    button.setAttribute("aria-pressed", "false");
    $("record-label").textContent = "Record a voice note";
    const blob = new Blob(chunks, { type: (recorder.mimeType || "audio/ogg").split(";")[0] });
    sendAudio(blob, (Date.now() - started) / 1000, "voice");
  };
  recorder.start();
  state.recorder = recorder;
  button.setAttribute("aria-pressed", "true");
  $("record-label").textContent = "Stop recording and send";
}

async function travel(to) {
  try {
    const result = await api("/sandbox/api/travel?user=" + state.user, { to: to });
    showClock(result.clock);
    toast(result.moved ? "The bot's clock moved forward." :
      (to === "checkin" ? "No check-in is planned yet: set up a practice first."
                        : "No nudge is planned yet: set up a practice first."));
  } catch (error) {
    toast("Couldn't move the clock: " + error.message);
  }
  setTimeout(refresh, 1500);
}

function buildMenu() {
  const list = $("menu-list");
  list.replaceChildren();
  for (const command of state.commands) {
    const li = document.createElement("li");
    const b = document.createElement("button");
    b.type = "button";
    const name = document.createElement("span");
    name.className = "name";
    name.textContent = "/" + command.command;
    const about = document.createElement("span");
    about.className = "about";
    about.textContent = command.description;
    b.append(name, about);
    b.addEventListener("click", () => { toggleMenu(false); sendText("/" + command.command); $("text").focus(); });
    li.append(b);
    list.append(li);
  }
}

function toggleMenu(open) {
  const menu = $("menu");
  const show = open === undefined ? menu.hidden : open;
  menu.hidden = !show;
  $("menu-button").setAttribute("aria-expanded", String(show));
  if (show) {
    const first = menu.querySelector("button");
    if (first) first.focus();
  }
}

async function start() {
  let info;
  for (;;) {
    try {
      info = await api("/sandbox/api/info");
      if (info.ready) break;
    } catch (error) { /* starting */ }
    await new Promise((r) => setTimeout(r, 500));
  }
  state.personas = info.personas;
  state.code = info.clinician_code;
  state.commands = info.commands;
  showClock(info.clock);
  for (const p of state.personas) {
    const b = document.createElement("button");
    b.type = "button";
    b.dataset.user = p.user_id;
    b.dataset.persona = p.key;
    b.textContent = p.role + ": " + p.first_name;
    b.addEventListener("click", () => choose(p.user_id));
    $("people").append(b);
  }
  buildMenu();
  $("compose").addEventListener("submit", (event) => {
    event.preventDefault();
    const text = $("text").value.trim();
    if (!text) return;
    $("text").value = "";
    sendText(text);
  });
  $("text").addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey) {
      event.preventDefault();
      $("compose").requestSubmit();
    }
  });
  $("menu-button").addEventListener("click", () => toggleMenu());
  $("menu").addEventListener("keydown", (event) => {
    if (event.key === "Escape") { toggleMenu(false); $("menu-button").focus(); }
  });
  $("reply-cancel").addEventListener("click", () => { setReply(null); $("text").focus(); });
  $("record").addEventListener("click", toggleRecording);
  $("upload").addEventListener("change", async (event) => {
    const file = event.target.files[0];
    event.target.value = "";
    if (!file) return;
    const seconds = await durationOf(file);
    const ogg = /\.(ogg|oga|opus)$/i.test(file.name) || /ogg|opus/.test(file.type);
    const blob = ogg ? new Blob([file], { type: "audio/ogg" }) : file;
    sendAudio(blob, seconds, ogg ? "voice" : "audio");
  });
  $("jump-nudge").addEventListener("click", () => travel("nudge"));
  $("jump-checkin").addEventListener("click", () => travel("checkin"));
  document.body.dataset.ready = "true";
  choose(state.personas[0].user_id);
  setInterval(refresh, 700);
}

start();

// Upload page: one XHR per file (fetch cannot report upload progress), a progress bar per
// file, and the server's own result row swapped in when it answers. No framework.
(function () {
  "use strict";
  var form = document.getElementById("upload-form");
  if (!form) return;
  var drop = document.getElementById("upload-drop");
  var input = document.getElementById("upload-input");
  var list = document.getElementById("upload-list");
  var maxBytes = parseInt(form.dataset.maxBytes, 10);
  var token = form.querySelector("input[name=csrfmiddlewaretoken]").value;

  function row(file) {
    var li = document.createElement("li");
    li.className = "upload-item upload-pending";
    var name = document.createElement("span");
    name.className = "upload-name";
    name.textContent = file.name;
    name.title = file.name;
    var status = document.createElement("span");
    status.className = "upload-status";
    status.innerHTML = '<div class="progress upload-progress" role="progressbar" aria-valuemin="0" aria-valuemax="100" aria-valuenow="0">' +
      '<div class="progress-bar" style="width:0%"></div></div><span class="upload-msg">Uploading…</span>';
    li.appendChild(name);
    li.appendChild(status);
    list.insertBefore(li, list.firstChild);
    return li;
  }

  function fail(li, message) {
    li.className = "upload-item upload-refused";
    li.dataset.outcome = "refused";
    li.querySelector(".upload-status").innerHTML = '<span class="badge text-bg-danger">Refused</span><span class="upload-msg"></span>';
    li.querySelector(".upload-msg").textContent = message;
  }

  function send(file) {
    var li = row(file);
    if (file.size > maxBytes) {
      // The server refuses it too, but sending hundreds of MB just to hear "no" helps nobody.
      fail(li, form.dataset.tooLarge);
      return;
    }
    var data = new FormData();
    data.append("csrfmiddlewaretoken", token);
    data.append("files", file, file.name);
    var xhr = new XMLHttpRequest();
    xhr.open("POST", form.action);
    xhr.setRequestHeader("HX-Request", "true");
    xhr.setRequestHeader("X-CSRFToken", token);
    xhr.setRequestHeader("X-File-Name", encodeURIComponent(file.name).slice(0, 200));
    var bar = li.querySelector(".progress-bar");
    xhr.upload.onprogress = function (e) {
      if (e.lengthComputable) {
        var pct = Math.round((e.loaded / e.total) * 100);
        bar.style.width = pct + "%";
        li.querySelector(".progress").setAttribute("aria-valuenow", pct);
      }
    };
    xhr.onload = function () {
      if (xhr.status === 200 && xhr.responseText.trim()) {
        var tpl = document.createElement("template");
        tpl.innerHTML = xhr.responseText.trim();
        var result = tpl.content.firstElementChild;
        if (result) { li.replaceWith(result); return; }
      }
      fail(li, "The server answered " + xhr.status + ". Try again; if it persists, tell your administrator.");
    };
    xhr.onerror = function () { fail(li, "The upload was interrupted. Check your connection and try again."); };
    xhr.send(data);
  }

  function sendAll(files) { Array.prototype.forEach.call(files, send); }

  input.addEventListener("change", function () { sendAll(input.files); input.value = ""; });
  ["dragenter", "dragover"].forEach(function (type) {
    drop.addEventListener(type, function (e) { e.preventDefault(); drop.classList.add("is-over"); });
  });
  ["dragleave", "drop"].forEach(function (type) {
    drop.addEventListener(type, function (e) { e.preventDefault(); drop.classList.remove("is-over"); });
  });
  drop.addEventListener("drop", function (e) { sendAll(e.dataTransfer.files); });
})();

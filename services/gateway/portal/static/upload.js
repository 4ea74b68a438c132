// Before an upload leaves the browser: the type and size the portal accepts, and a progress bar.
// Without JavaScript the form posts as it is and the server says the same.
(function () {
  var LIMIT = 10 * 1024 * 1024, TYPES = ["application/pdf", "image/jpeg", "image/png"];
  document.querySelectorAll("form[data-upload]").forEach(function (form) {
    var input = form.querySelector("input[type=file]"), bar = form.querySelector("progress");
    function refuse(text) {
      var group = input.closest(".form-group"), span = group.querySelector(".error-message");
      if (!span) { span = document.createElement("span"); span.className = "error-message"; span.id = "f-file-error"; input.before(span); }
      span.textContent = text; group.classList.add("form-group--error"); input.focus();
    }
    form.addEventListener("submit", function (event) {
      var file = input.files && input.files[0];
      if (!file) { event.preventDefault(); refuse("请选择要上传的文件"); return; }
      if (TYPES.indexOf(file.type) < 0) { event.preventDefault(); refuse("只能上传 PDF、JPEG 或 PNG 文件"); return; }
      if (file.size > LIMIT) { event.preventDefault(); refuse("文件不能超过 10 MB"); return; }
      if (!window.XMLHttpRequest || !bar) return;
      event.preventDefault();
      var request = new XMLHttpRequest();
      request.open("POST", form.action);
      bar.hidden = false;
      request.upload.onprogress = function (e) { if (e.lengthComputable) bar.value = Math.round(100 * e.loaded / e.total); };
      request.onload = function () {
        // saved: the page the server redirected to; refused: the server's page with its message
        if (request.status < 400 && request.responseURL) { window.location.assign(request.responseURL); return; }
        document.open(); document.write(request.responseText); document.close();
      };
      request.send(new FormData(form));
    });
  });
})();

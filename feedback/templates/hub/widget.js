(function () {
  var here = document.currentScript;
  var frame = document.createElement("iframe");
  frame.src = "{{ src|escapejs }}";
  frame.title = "{{ title|escapejs }}";
  frame.style.width = "100%";
  frame.style.minHeight = "900px";
  frame.style.border = "0";
  frame.setAttribute("loading", "lazy");
  here.parentNode.insertBefore(frame, here);
})();

/* Repairs to the ARIA that Dash 4.4's own components render and that none of their props
 * can change (measured by axe-core: tests/browser/test_accessibility.py). Each repair is
 * idempotent and re-applied whenever Dash re-renders, so it never fights React: React only
 * writes an attribute again when its own value for it changes, and then this puts it right.
 *
 * A control's visible label, when the layout gives it the id `<control id>-label`, names it.
 *
 * - DatePickerRange: its wrapper <div> carries a button's states (aria-expanded,
 *   aria-haspopup, aria-disabled) with no role, and is "labelled by" ids that do not exist
 *   (axe: aria-allowed-attr, critical). It becomes a named group of its two date inputs.
 * - Dropdown: the Tab stop is an aria-hidden, invisible <input> that hands focus on to the
 *   real button, which is kept out of the Tab order (axe: aria-hidden-focus, serious). The
 *   button becomes the Tab stop itself, named by its label and its value.
 * - RadioItems and Checklist: native radios and checkboxes wrapped in role="option" labels
 *   inside an unnamed role="listbox" (axe: nested-interactive and aria-input-field-name,
 *   serious). The native controls speak for themselves inside a named radiogroup or group.
 */
(function () {
  "use strict";

  function set(element, name, value) {
    if (element.getAttribute(name) !== value) element.setAttribute(name, value);
  }

  function drop(element, name) {
    if (element.hasAttribute(name)) element.removeAttribute(name);
  }

  function labelId(id) {
    return id && document.getElementById(id + "-label") ? id + "-label" : null;
  }

  function repairDatePickers(root) {
    root.querySelectorAll(".dash-datepicker-input-wrapper").forEach(function (wrapper) {
      ["aria-expanded", "aria-haspopup", "aria-disabled", "type"].forEach(function (name) {
        drop(wrapper, name);
      });
      set(wrapper, "role", "group");
      var label = labelId((wrapper.id || "").replace(/-wrapper$/, ""));
      if (label) set(wrapper, "aria-labelledby", label);
      else drop(wrapper, "aria-labelledby");
    });
  }

  function repairDropdowns(root) {
    root.querySelectorAll(".dash-dropdown-wrapper").forEach(function (wrapper) {
      var target = wrapper.querySelector(".dash-dropdown-focus-target");
      var button = wrapper.querySelector("button.dash-dropdown");
      if (!target || !button) return;
      var disabled = button.disabled;
      set(target, "tabindex", "-1");
      set(button, "tabindex", disabled ? "-1" : "0");
      var label = labelId(button.id);
      var named = (button.getAttribute("aria-labelledby") || "")
        .split(/\s+/)
        .filter(function (id) { return id && id !== label && document.getElementById(id); });
      if (label) named.unshift(label);
      if (named.length) set(button, "aria-labelledby", named.join(" "));
    });
  }

  function repairOptionLists(root) {
    root.querySelectorAll(".dash-options-list").forEach(function (list) {
      var radios = list.querySelector("input[type=radio]") !== null;
      set(list, "role", radios ? "radiogroup" : "group");
      var label = labelId(list.id);
      if (label) set(list, "aria-labelledby", label);
      list.querySelectorAll(".dash-options-list-option").forEach(function (option) {
        drop(option, "role");
        drop(option, "aria-selected");
      });
    });
  }

  function repair() {
    repairDatePickers(document);
    repairDropdowns(document);
    repairOptionLists(document);
  }

  var pending = false;
  function schedule() {
    if (pending) return;
    pending = true;
    window.requestAnimationFrame(function () {
      pending = false;
      repair();
    });
  }

  function start() {
    repair();
    new MutationObserver(schedule).observe(document.body, {
      subtree: true,
      childList: true,
      attributes: true,
      attributeFilter: ["role", "aria-selected", "aria-expanded", "aria-labelledby", "tabindex"],
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();

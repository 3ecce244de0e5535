// The notice board's print button: the CSP forbids inline handlers.
document.addEventListener("click", (event) => {
  if (event.target.closest("[data-print]")) window.print();
});

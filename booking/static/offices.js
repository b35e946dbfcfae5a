// The bare /book of a deployment with several offices: which office? A filter for long lists,
// matching names without caring about diacritics ("ba dinh" finds "Ba Đình").
const fold = (text) => text.normalize("NFD").replace(/[\u0300-\u036f]/g, "").replace(/đ/gi, "d").toLowerCase();

const filter = document.getElementById("office-filter");
const items = [...document.querySelectorAll("#office-list li")].map((li) => ({ li, text: fold(li.textContent) }));
if (filter) {
  filter.addEventListener("input", () => {
    const wanted = fold(filter.value.trim());
    let shown = 0;
    for (const item of items) {
      item.li.hidden = Boolean(wanted) && !item.text.includes(wanted);
      if (!item.li.hidden) shown += 1;
    }
    document.getElementById("office-none").hidden = shown > 0;
  });
}

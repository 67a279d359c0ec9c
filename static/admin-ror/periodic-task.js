// What django-celery-beat's periodic task form does inline: the chosen crontab in words.
(function () {
  const script = document.getElementById("periodic-task-overrides");
  const $ = window.django && window.django.jQuery;
  if (!script || !$) return;
  const readableCrontabs = JSON.parse(document.getElementById("readable-crontabs").textContent);
  const originalHelp = script.dataset.crontabHelp || "";
  $(".field-crontab_translation").hide();
  $(".field-crontab").change(function () {
    const help = $(".field-crontab .help");
    help.text(originalHelp);
    help.append(document.createElement("br"), document.createTextNode(
      "Translation: " + (readableCrontabs[$("#id_crontab").val()] || "")));
  });
})();

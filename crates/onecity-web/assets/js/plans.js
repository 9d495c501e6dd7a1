/* onecity console: linkage plan editor (应急联动预案). Lists a tenant's plans
 * (GET /api/v1/tenants/{t}/governance/plans), loads one into the form, and saves a plan
 * (POST …/governance/plans: create or replace the plan of an alert type and level) with
 * its tasks: a department (by code), what to do, and a deadline in hours after the alert.
 * For tests: body[data-plans-ready|data-tenant|data-plan-count]. */
(function () {
  'use strict';
  var oc = window.onecity;
  var t = oc.t;
  var el = oc.el;
  var body = document.body;
  body.dataset.plansReady = '0';
  if (!oc.requireToken()) return;

  var pageError = document.getElementById('page-error');
  var table = document.querySelector('#plans-table tbody');
  var form = document.getElementById('plan-form');
  var typeIn = document.getElementById('plan-type');
  var levelSel = document.getElementById('plan-level');
  var nameIn = document.getElementById('plan-name');
  var tasksEl = document.getElementById('plan-tasks');
  var planError = document.getElementById('plan-error');
  var planStatus = document.getElementById('plan-status');
  var current = null;
  var departments = [];
  var plans = [];

  function base() { return '/api/v1/tenants/' + encodeURIComponent(current) + '/governance/plans'; }

  function addTask(task) {
    var li = el('li', 'plan-task');
    var dept = el('select', 'task-department');
    dept.setAttribute('aria-label', t('department'));
    departments.forEach(function (d) {
      var o = el('option', null, oc.localName(d) + ' (' + d.code + ')');
      o.value = d.code;
      dept.appendChild(o);
    });
    if (task) dept.value = task.department_code;
    var title = el('input', 'task-title');
    title.maxLength = 200;
    title.setAttribute('aria-label', t('task_title'));
    title.value = task ? task.title : '';
    var hours = el('input', 'task-hours');
    hours.type = 'number';
    hours.min = '1';
    hours.max = '720';
    hours.setAttribute('aria-label', t('deadline_hours'));
    hours.value = task ? String(task.deadline_hours) : '24';
    var rm = el('button', 'secondary task-remove', t('task_remove'));
    rm.type = 'button';
    rm.addEventListener('click', function () { li.remove(); });
    [dept, title, hours, rm].forEach(function (x) { li.appendChild(x); });
    tasksEl.appendChild(li);
  }

  function edit(plan) {
    oc.showError(planError, '');
    planStatus.hidden = true;
    typeIn.value = plan ? plan.alert_type : '';
    levelSel.value = plan ? plan.level : 'blue';
    nameIn.value = plan ? plan.name : '';
    tasksEl.textContent = '';
    (plan ? plan.tasks : [null]).forEach(addTask);
  }

  function render() {
    table.textContent = '';
    plans.forEach(function (p) {
      var tr = el('tr');
      tr.dataset.key = p.alert_type + '/' + p.level;
      tr.tabIndex = 0;
      [p.alert_type, t('level_' + p.level), p.name, p.tasks.length].forEach(function (v) { tr.appendChild(el('td', null, v)); });
      tr.addEventListener('click', function () { edit(p); });
      tr.addEventListener('keydown', function (e) { if (e.key === 'Enter') edit(p); });
      table.appendChild(tr);
    });
    body.dataset.planCount = String(plans.length);
  }

  async function load() {
    plans = await oc.api(base());
    render();
  }

  form.addEventListener('submit', async function (e) {
    e.preventDefault();
    oc.showError(planError, '');
    planStatus.hidden = true;
    var tasks = Array.prototype.map.call(tasksEl.querySelectorAll('li.plan-task'), function (li) {
      return {
        department_code: li.querySelector('.task-department').value,
        title: li.querySelector('.task-title').value.trim(),
        deadline_hours: parseInt(li.querySelector('.task-hours').value, 10),
      };
    });
    var problems = [];
    if (!typeIn.value.trim()) problems.push(t('alert_type') + ': ' + t('required'));
    if (!nameIn.value.trim()) problems.push(t('plan_name') + ': ' + t('required'));
    if (!tasks.length) problems.push(t('plan_tasks') + ': ' + t('required'));
    tasks.forEach(function (x, i) {
      if (!x.title) problems.push(t('task_title') + ' ' + (i + 1) + ': ' + t('required'));
      if (!(x.deadline_hours >= 1 && x.deadline_hours <= 720)) problems.push(t('deadline_hours') + ' ' + (i + 1) + ': 1–720');
    });
    if (problems.length) { oc.showError(planError, problems.join('; ')); return; }
    try {
      await oc.api(base(), {
        method: 'POST',
        json: { alert_type: typeIn.value.trim(), level: levelSel.value, name: nameIn.value.trim(), tasks: tasks },
      });
      planStatus.textContent = t('plan_saved');
      planStatus.hidden = false;
      await load();
    } catch (err) {
      oc.showError(planError, err);
    }
  });
  document.getElementById('task-add').addEventListener('click', function () { addTask(null); });
  document.getElementById('plan-new').addEventListener('click', function () { edit(null); });

  oc.initTenants(async function (code) {
    current = code;
    body.dataset.plansReady = '0';
    try {
      departments = await oc.listAll('/api/v1/tenants/' + encodeURIComponent(code) + '/departments?limit=100', 5);
      await load();
      edit(null);
      body.dataset.tenant = code;
      oc.showError(pageError, '');
      body.dataset.plansReady = '1';
    } catch (e) {
      oc.showError(pageError, e);
    }
  }).catch(function (e) { oc.showError(pageError, e); });
})();

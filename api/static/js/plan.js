// Generated from domain/plan.py by `python -m tests.browser.plan_module`; a test checks they agree.
export const PHASES = ["phase1", "phase2", "phase3", "phase4"];
export const SUB_STEPS = [
  {"key": "cloudwaitressAccount", "phase": "phase1", "depends_on": [], "endpoint": "/api/registration/register-account"},
  {"key": "codeGeneration", "phase": "phase1", "depends_on": [], "endpoint": "/api/registration/generate-code-injections"},
  {"key": "createOnboardingUser", "phase": "phase1", "depends_on": [], "endpoint": "/api/registration/create-onboarding-user"},
  {"key": "uploadImages", "phase": "phase1", "depends_on": [], "endpoint": "/menus/{menuId}/upload-images"},
  {"key": "restaurantRegistration", "phase": "phase2", "depends_on": ["cloudwaitressAccount"], "endpoint": "/api/registration/register-restaurant"},
  {"key": "websiteConfig", "phase": "phase2", "depends_on": ["codeGeneration", "restaurantRegistration"], "endpoint": "/api/registration/configure-website"},
  {"key": "servicesConfig", "phase": "phase2", "depends_on": ["restaurantRegistration"], "endpoint": "/api/registration/configure-services"},
  {"key": "paymentConfig", "phase": "phase2", "depends_on": ["restaurantRegistration"], "endpoint": "/api/registration/configure-payment"},
  {"key": "menuImport", "phase": "phase2", "depends_on": ["restaurantRegistration"], "endpoint": "/api/registration/import-menu-direct"},
  {"key": "syncOnboardingUser", "phase": "phase2", "depends_on": ["createOnboardingUser", "restaurantRegistration"], "endpoint": "/api/registration/update-onboarding-record"},
  {"key": "optionSets", "phase": "phase3", "depends_on": ["menuImport"], "endpoint": "/api/registration/add-option-sets"},
  {"key": "itemTags", "phase": "phase4", "depends_on": ["menuImport"], "endpoint": "/api/registration/add-item-tags"},
];

"""What the web app needs besides its layout: its stylesheet and the HTML fragments that use it,
the example gallery, the per-visitor sessions and shared model sets, the event handlers, and the
process settings applied when the server starts (:func:`explainer.ui.runtime.configure`)."""

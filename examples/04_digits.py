"""`chainrule train` from Python: an MLP on scikit-learn's digits, checkpoint, report."""

import os

import chainrule as cr
import chainrule.nn.functional as F

epochs = 3 if os.environ.get("CHAINRULE_QUICK") else 40
out = "runs/examples/04_digits"
os.makedirs(out, exist_ok=True)
cr.manual_seed(0)

X, y = cr.data.load_digits()
X_train, X_test, y_train, y_test = cr.data.train_test_split(X, y, test_size=0.2, stratify=y,
                                                            seed=0)
X_train, mean, std = cr.data.standardize(X_train)          # statistics of the training rows
X_test, _, _ = cr.data.standardize(X_test, mean, std)

model = cr.nn.Sequential(cr.nn.Linear(64, 128), cr.nn.ReLU(), cr.nn.Linear(128, 64),
                         cr.nn.ReLU(), cr.nn.Linear(64, 10))
optimizer = cr.optim.Adam(model.parameters(), lr=1e-3)
flow = cr.train.GradientFlowRecorder()
history = cr.train.fit(model, F.cross_entropy, optimizer, (X_train, y_train), epochs=epochs,
                       batch_size=32, val_data=(X_test, y_test), metrics=["accuracy"],
                       callbacks=[flow, cr.train.ModelCheckpoint(f"{out}/checkpoint.safetensors")],
                       seed=0)

logits = cr.train.predict(model, X_test)
print(f"test accuracy {cr.train.accuracy_score(y_test, logits):.4f}, "
      f"macro F1 {cr.train.f1_score(y_test, logits):.4f}")
cr.train.save(model, f"{out}/model.safetensors")           # reload: model.load_state_dict(...)
cr.report.write_report(f"{out}/report.html", history, title="digits from Python",
                       confusion_matrix=cr.train.confusion_matrix(y_test, logits),
                       gradient_flow=flow.records, spectra=cr.inspect.weight_spectra(model))
print(f"wrote {out}/model.safetensors and {out}/report.html")

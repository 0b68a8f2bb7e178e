"""The Streamlit app: predict, explain and the loop's history (run with `streamlit run ui/app.py`)."""
